"""Sympy derivations behind the toolkit, each with numeric (numpy / torch, float64) twins.

- pushforward: the density and score of Y = f(X) for an invertible 1-D or 2-D map, proved (or checked)
  against the Jacobian formula; base log-densities and their normaliser are in densities, finding the
  inverse (closed form or Newton) in inverse.
- edm: EDM's preconditioning identities, and the coefficients against scoreaug_lab.diffusion.
- matrices: hand-written matrices of image transforms on a small grid and the noise covariance T T^T
  they give: an independent oracle for the library's own linear-transform matrices.

`from scoreaug_lab import symbolic as S` gives every public name below.
"""
from .densities import gaussian_logpdf, gaussian_mixture_logpdf, logistic_logpdf, normalising_constant
from .edm import edm_expressions, edm_identities, edm_numeric_check
from .matrices import (bilinear_rotation_matrix, brightness_matrix, covariance_row, cutout_matrix,
                       format_table, hflip_matrix, image_transform_matrices, nearest_rotation_matrix,
                       noise_covariance_table, rot90_matrix, translate_matrix, vflip_matrix)
from .numeric import max_relative_error
from .pushforward import Pushforward, autograd_agreement, derive_pushforward, parse_map

__all__ = [
    "Pushforward", "autograd_agreement", "bilinear_rotation_matrix", "brightness_matrix", "covariance_row",
    "cutout_matrix", "edm_expressions", "edm_identities", "edm_numeric_check", "format_table",
    "gaussian_logpdf", "gaussian_mixture_logpdf", "hflip_matrix", "image_transform_matrices",
    "logistic_logpdf", "max_relative_error", "nearest_rotation_matrix", "noise_covariance_table",
    "normalising_constant", "parse_map", "derive_pushforward", "rot90_matrix", "translate_matrix",
    "vflip_matrix",
]
