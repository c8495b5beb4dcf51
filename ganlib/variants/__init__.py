"""One module per GAN variant; `ganlib.registry` maps names to them."""
