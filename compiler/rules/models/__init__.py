"""Model awareness: the `model:` and `data:` trees checked against the real code.

`targets` holds the generic checks every target gets (parameters generated from the
code by tools/model_schema.py) and `editor` the same knowledge as JSON Schema; one
package per model family (`cogvideox`) holds its profiles as data and its rules as small
functions over that data.  Rule ids (M*, L*) are explained in
docs/model-rules.md.
"""
