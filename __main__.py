from satc.compiler.cli import main

main()
