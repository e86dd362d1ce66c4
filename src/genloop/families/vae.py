"""A variational autoencoder (MLP encoder and decoder) as a density family.

The Nature paper's VAE experiment: train a VAE on real digits, generate a dataset from
it, train the next VAE on that, and so on; the samples lose variety generation after
generation. Here the VAE models rows of real features (scikit-learn's 8×8 digits scaled
to [0, 1] in the recipes), standardised internally:

* ``fit`` maximises the ELBO with Adam (Gaussian decoder with a learned per-feature
  scale, standard normal prior);
* ``sample`` draws latents from the prior (``latent="prior"``) or from a Gaussian fitted
  to the encoder means of the training rows (``latent="fitted"``, as the paper does),
  and returns the decoder's mean (``output="mean"``) or a draw around it;
* ``score_samples`` is the ELBO of each row (a lower bound on its log-likelihood),
  estimated with ``n_mc`` latent draws from a fixed seed, so it is deterministic;
* ``encode`` gives encoder means, which the latent-spread metric reads through the
  generation-0 model.

torch is imported inside methods; every random torch call uses a torch Generator seeded
from the numpy Generator (or int) the caller passes.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from sklearn.utils.validation import check_is_fitted, validate_data

from genloop.core.errors import ConfigError
from genloop.core.rng import as_generator
from genloop.families.base import DensityFamily
from genloop.families.torch_utils import (
    import_torch,
    resolve_device,
    seed_int,
    set_threads,
    torch_generator,
)


def _networks(torch, n_features: int, hidden: int, latent_dim: int):
    from torch import nn

    encoder = nn.Sequential(
        nn.Linear(n_features, hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, 2 * latent_dim),
    )
    decoder = nn.Sequential(
        nn.Linear(latent_dim, hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, n_features),
    )
    log_scale = nn.Parameter(torch.zeros(n_features))
    return nn.ModuleDict({"encoder": encoder, "decoder": decoder}), log_scale


class VAE(DensityFamily):
    """Variational autoencoder with MLP encoder/decoder and a Gaussian decoder.

    Parameters
    ----------
    latent_dim : int, default 8
        Size of the latent space.
    hidden : int, default 128
        Width of the two hidden layers of the encoder and of the decoder.
    epochs : int, default 60
        Passes over the training rows.
    batch_size : int, default 64
    lr : float, default 2e-3
        Adam learning rate.
    latent : {"prior", "fitted"}, default "prior"
        Where sampled latents come from: N(0, I), or a Gaussian fitted to the encoder
        means of the training rows.
    output : {"mean", "sample"}, default "mean"
        Sampled rows are the decoder mean, or a draw from the decoder's Gaussian.
    n_mc : int, default 8
        Latent draws per row in :meth:`score_samples`.
    device : {"auto", "cpu", "cuda"}, default "auto"
    n_threads : int, default 1
        torch intra-op threads (the matrices are tiny: more threads only wait on
        each other on a busy machine).
    random_state : None, int or Generator
        Initialisation, shuffling and reparameterisation noise of ``fit``.

    Attributes
    ----------
    mean_, scale_ : ndarray of shape (n_features,)
        Standardisation of the training rows (scale floored at 1e-3 of the largest).
    latent_mean_ : ndarray of shape (latent_dim,)
    latent_cov_ : ndarray of shape (latent_dim, latent_dim)
        Gaussian fitted to the encoder means of the training rows.
    n_features_in_ : int
    """

    kind = "vectors"

    def __init__(
        self,
        latent_dim=8,
        hidden=128,
        epochs=60,
        batch_size=64,
        lr=2e-3,
        latent="prior",
        output="mean",
        n_mc=8,
        device="auto",
        n_threads=1,
        random_state=None,
    ):
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.latent = latent
        self.output = output
        self.n_mc = n_mc
        self.device = device
        self.n_threads = n_threads
        self.random_state = random_state

    def _check_params(self):
        for name, minimum in (
            ("latent_dim", 1),
            ("hidden", 1),
            ("epochs", 0),
            ("batch_size", 1),
            ("n_mc", 1),
            ("n_threads", 1),
        ):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, numbers.Integral)
                or value < minimum
            ):
                raise ConfigError(f"VAE: {name}={value!r} must be an integer ≥ {minimum}")
        if not isinstance(self.lr, numbers.Real) or not self.lr > 0:
            raise ConfigError(f"VAE: lr={self.lr!r} must be positive")
        for name, allowed in (("latent", ("prior", "fitted")), ("output", ("mean", "sample"))):
            if getattr(self, name) not in allowed:
                raise ConfigError(
                    f"VAE: {name}={getattr(self, name)!r} must be one of {', '.join(allowed)}"
                )
        return resolve_device(self.device, "VAE")

    # --- training ---------------------------------------------------------------------------
    def _elbo(self, x, generator, n_draws: int = 1, shared: bool = False):
        """Per-row ELBO of standardised rows ``x`` (b, d), averaged over latent draws.

        ``shared``: every row uses the same ``n_draws`` standard-normal draws, so a row's
        score does not depend on the other rows or their order (scoring, not training).
        """
        torch = import_torch()
        stats = self.net_["encoder"](x)
        mu, log_var = stats.chunk(2, dim=1)
        log_var = log_var.clamp(-12, 8)
        kl = 0.5 * (mu.pow(2) + log_var.exp() - 1 - log_var).sum(dim=1)
        recon = 0.0
        for _ in range(n_draws):
            shape = (1, mu.shape[1]) if shared else mu.shape
            noise = torch.randn(shape, generator=generator, device=mu.device)
            mean = self.net_["decoder"](mu + (0.5 * log_var).exp() * noise)
            log_scale = self.log_scale_.clamp(-7, 3)
            recon = recon + (
                -0.5 * ((x - mean) / log_scale.exp()).pow(2)
                - log_scale
                - 0.5 * math.log(2 * math.pi)
            ).sum(dim=1)
        return recon / n_draws - kl

    def fit(self, X, y=None):
        """Fit by maximising the ELBO.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        self : VAE
        """
        device = self._check_params()
        torch = import_torch()
        set_threads(self.n_threads)
        X = validate_data(self, X, dtype=np.float64, ensure_min_samples=2)
        self.mean_ = X.mean(axis=0)
        std = X.std(axis=0)
        # Constant features (blank digit corners) get a small floor, not a division by 0.
        self.scale_ = np.maximum(std, 1e-3 * max(float(std.max()), 1e-12) + 1e-12)
        data = torch.as_tensor((X - self.mean_) / self.scale_, dtype=torch.float32, device=device)
        seed = seed_int(self.random_state)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.net_, self.log_scale_ = _networks(torch, X.shape[1], self.hidden, self.latent_dim)
        self.net_.to(device)
        self.log_scale_ = torch.nn.Parameter(self.log_scale_.detach().to(device))
        self.device_ = device
        params = [*self.net_.parameters(), self.log_scale_]
        optimizer = torch.optim.Adam(params, lr=self.lr)
        rng = np.random.default_rng(seed)
        generator = torch_generator(rng, device)
        self.net_.train()
        for _ in range(self.epochs):
            order = torch.as_tensor(rng.permutation(len(data)), device=device)
            for start in range(0, len(order), self.batch_size):
                loss = -self._elbo(data[order[start : start + self.batch_size]], generator).mean()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        self.net_.eval()
        means = self._encode_standardised(data)
        self.latent_mean_ = means.mean(axis=0)
        self.latent_cov_ = np.atleast_2d(np.cov(means, rowvar=False)) + 1e-6 * np.eye(
            self.latent_dim
        )
        return self

    # --- inference ---------------------------------------------------------------------------
    def _encode_standardised(self, data) -> np.ndarray:
        torch = import_torch()
        with torch.no_grad():
            return self.net_["encoder"](data).chunk(2, dim=1)[0].double().cpu().numpy()

    def _standardised(self, X):
        torch = import_torch()
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return torch.as_tensor(
            (X - self.mean_) / self.scale_, dtype=torch.float32, device=self.device_
        )

    def encode(self, X) -> np.ndarray:
        """Encoder means of the rows of ``X``, shape ``(n_samples, latent_dim)``."""
        check_is_fitted(self, "net_")
        set_threads(self.n_threads)
        return self._encode_standardised(self._standardised(X))

    def score_samples(self, X):
        """ELBO of each row in the original units (a lower bound on log p(x)).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "net_")
        torch = import_torch()
        set_threads(self.n_threads)
        data = self._standardised(X)
        generator = torch.Generator(device=self.device_)
        generator.manual_seed(0)  # fixed draws: the same rows always score the same
        with torch.no_grad():
            elbo = self._elbo(data, generator, self.n_mc, shared=True).double().cpu().numpy()
        return elbo - float(np.log(self.scale_).sum())

    def sample(self, n_samples=1, random_state=None):
        """Decode ``n_samples`` latents (prior or fitted Gaussian), in the original units.

        Parameters
        ----------
        n_samples : int, default 1
        random_state : None, int or numpy.random.Generator

        Returns
        -------
        ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self, "net_")
        if (
            isinstance(n_samples, bool)
            or not isinstance(n_samples, numbers.Integral)
            or n_samples < 0
        ):
            raise ConfigError(f"VAE: n_samples={n_samples!r} must be a non-negative integer")
        torch = import_torch()
        set_threads(self.n_threads)
        rng = as_generator(random_state)
        if self.latent == "prior":
            z = rng.standard_normal((n_samples, self.latent_dim))
        else:
            z = rng.multivariate_normal(self.latent_mean_, self.latent_cov_, size=n_samples)
        with torch.no_grad():
            mean = self.net_["decoder"](
                torch.as_tensor(z, dtype=torch.float32, device=self.device_)
            )
            rows = mean.double().cpu().numpy()
        if self.output == "sample":
            scale = np.exp(np.clip(self.log_scale_.detach().double().cpu().numpy(), -7, 3))
            rows = rows + scale * rng.standard_normal(rows.shape)
        return rows * self.scale_ + self.mean_

    # --- checkpoints ------------------------------------------------------------------------
    def to_arrays(self) -> dict[str, np.ndarray]:
        """Weights (``net.*``), the decoder scale, standardisation, latent Gaussian, layout."""
        check_is_fitted(self, "net_")
        arrays = {f"net.{k}": v.detach().cpu().numpy() for k, v in self.net_.state_dict().items()}
        arrays["log_scale"] = self.log_scale_.detach().cpu().numpy()
        arrays |= {
            "mean": self.mean_,
            "scale": self.scale_,
            "latent_mean": self.latent_mean_,
            "latent_cov": self.latent_cov_,
            "layout": np.array([self.n_features_in_, self.hidden, self.latent_dim]),
        }
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], **params) -> VAE:
        """Rebuild a fitted VAE from :meth:`to_arrays` output."""
        torch = import_torch()
        n_features, hidden, latent_dim = (int(v) for v in arrays["layout"])
        model = cls(**({"hidden": hidden, "latent_dim": latent_dim} | params))
        model.device_ = model._check_params()
        model.net_, _ = _networks(torch, n_features, hidden, latent_dim)
        model.net_.load_state_dict(
            {
                k[4:]: torch.from_numpy(np.array(v))
                for k, v in arrays.items()
                if k.startswith("net.")
            }
        )
        model.net_.to(model.device_).eval()
        model.log_scale_ = torch.nn.Parameter(torch.from_numpy(np.array(arrays["log_scale"])))
        model.mean_, model.scale_ = np.array(arrays["mean"]), np.array(arrays["scale"])
        model.latent_mean_ = np.array(arrays["latent_mean"])
        model.latent_cov_ = np.array(arrays["latent_cov"])
        model.n_features_in_ = n_features
        return model
