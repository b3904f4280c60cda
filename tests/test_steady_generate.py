"""Steady-state generators: Newton-Krylov finds unstable states, time stepping tells them apart."""

import numpy as np

from pinnbilo import steady as st

GRID = st.PeriodicGrid(64, 1.0)


def kernel(r):
    return -np.exp(-(r**2) / (2 * 0.1**2))


def test_unstable_uniform_state_and_stable_cluster():
    mass, sigma = 3.0, 0.1  # strong attraction: past the bifurcation of the uniform state
    uniform = np.full(GRID.n, mass)
    near = uniform * (1 + 1e-3 * np.cos(2 * np.pi * GRID.x))
    # Newton-Krylov on T(u) - u = 0 converges to the (unstable) uniform state nearby ...
    u_newton = st.steady_state(GRID, None, kernel, 1.0, sigma, mass, u0=near, method="newton")
    assert np.ptp(u_newton) < 1e-6 * mass
    assert not st.is_stable(GRID, u_newton, None, kernel, 1.0, sigma, t_end=20.0)
    # ... while the damped fixed-point iteration from a larger bump finds a stable cluster.
    u0 = mass * (1 + 0.3 * np.cos(2 * np.pi * GRID.x))
    cluster = st.steady_state(GRID, None, kernel, 1.0, sigma, mass, u0=u0, damping=0.3)
    assert cluster.max() > 10 * mass
    assert st.is_stable(GRID, cluster, None, kernel, 1.0, sigma, t_end=20.0)


def test_time_stepping_keeps_mass_and_positivity_and_reaches_the_steady_state():
    V = 2.0 * np.cos(2 * np.pi * GRID.x)
    u0 = np.exp(np.sin(6 * np.pi * GRID.x))
    u0 *= 1.0 / GRID.integrate(u0)
    u = st.evolve(GRID, u0, V, None, 0.0, sigma=0.5, t_end=5.0, dt=0.5)  # large dt: still positive
    assert np.all(u > 0)
    assert abs(GRID.integrate(u) - 1.0) < 1e-12
    exact = st.steady_state(GRID, V, None, 0.0, sigma=0.5, mass=1.0)
    # Scharfetter-Gummel fluxes vanish exactly on the discrete Gibbs state exp(-V/sigma).
    long = st.evolve(GRID, u0, V, None, 0.0, sigma=0.5, t_end=200.0, dt=0.5, tol=1e-13)
    assert np.linalg.norm(long - exact) < 1e-8 * np.linalg.norm(exact)
