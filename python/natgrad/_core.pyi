# Type stub of the compiled core (natgrad._core_<isa>, re-exported by natgrad._core).
# Private: the public API lives in the natgrad package. Keep in step with cpp/bindings/.
import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]

isa_level: str
build_flags: str
compiler: str
eigen_version: str
eigen_simd: str

def supported_levels() -> list[str]: ...

# linalg
def damped_cholesky_solve(fisher: F64, rhs: F64, damping: float) -> F64: ...
