"""opade-fit: fit, certify and export initial coefficients of rational activations."""
