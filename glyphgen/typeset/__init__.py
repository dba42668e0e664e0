"""Typography shared by every part: fonts and their verified coverage, charsets, glyph
rasterization, line and column layout, geometry of quads. Plain arguments only (no factory
config), so the factory, the glyph model, the recognizer, the evaluator and the web page can all
use it without importing one another."""
