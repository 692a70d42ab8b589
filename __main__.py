from satc.compiler.entry import main

# prog_name: `python -m satc` reads as `satc` in help and shell completion (_SATC_COMPLETE).
main(prog_name="satc")
