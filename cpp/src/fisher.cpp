#include "natgrad/fisher.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Dense>
#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "natgrad/checks.hpp"
#include "natgrad/gaussian.hpp"
#include "natgrad/packing.hpp"

namespace natgrad {

namespace {

// Symmetric matrix part of a packed vector (offdiag_scale as in packing.hpp).
MatrixXd matrix_part(const VecRef& v, Eigen::Index n, double offdiag_scale) {
    return unpack_matrix_part(v, n, offdiag_scale);
}

void symmetrize(MatrixXd& a) { a = 0.5 * (a + a.transpose()).eval(); }

VectorXd packed(const VectorXd& vec, const MatrixXd& mat, double offdiag_scale) {
    const Eigen::Index n = vec.size();
    VectorXd out(packed_size(n));
    out.head(n) = vec;
    pack_matrix_part(mat, offdiag_scale, out);
    return out;
}

// The products I v below, after the caller checked the arguments (no result check either: the
// natural-gradient solves call them in their inner loops).
VectorXd product_natural(const VecRef& mean, const MatRef& cov, const VecRef& v) {
    const Eigen::Index n = cov.rows();
    const MatrixXd s = cov;
    // <v, T(x)> = a'x + x'Vx; Cov(x, .) = w and Cov(x x', .) = 2 S V S + mu w' + w mu'.
    const MatrixXd sv = s * matrix_part(v, n, 1.0);
    const VectorXd w = s * v.head(n) + 2.0 * (sv * mean);
    MatrixXd m = 2.0 * sv * s;
    symmetrize(m);
    m.noalias() += mean * w.transpose() + w * mean.transpose();
    return packed(w, m, 2.0);  // T_ij = 2 x_i x_j
}

VectorXd product_expectation(const VecRef& mean, const MatRef& precision, const VecRef& v) {
    const Eigen::Index n = precision.rows();
    const MatrixXd b = precision;
    const VectorXd dmu = v.head(n);
    // Tangent (dmu, dSigma) of the eta-direction v; eta_ij = 2 E_ij, so dE = V / 2 off-diagonal.
    MatrixXd dsigma = matrix_part(v, n, 2.0);
    dsigma.noalias() -= dmu * mean.transpose() + mean * dmu.transpose();
    MatrixXd g = b * dsigma * b;  // Miller: dmu' B . + 1/2 tr(B dSigma B .), pulled back to eta
    symmetrize(g);
    const VectorXd vec = b * dmu - g * mean;
    return packed(vec, 0.5 * g, 1.0);
}

// Every argument of a natural-gradient solve in theta or eta, checked before any is used.
Eigen::Index check_solve_args(const VecRef& mean, const MatRef& cov, const MatRef& precision,
                              const VecRef& grad, double damping) {
    const Eigen::Index n = checks::mean_and_square("mean", mean, "cov", cov);
    checks::matrix("precision", precision, n, n);
    checks::vector("grad", grad, packed_size(n));
    checks::damping(damping);
    return n;
}

// One preconditioned conjugate-gradient run on the SPD system A x = b, advanced step by step so
// that two runs with different preconditioners can race each other.
template <typename Apply, typename Precond>
struct CgRun {
    const Apply& apply;
    Precond precond;
    const VectorXd& b;
    VectorXd x, r, z, p;
    double rz = 0.0, anorm = 0.0;
    double last_true = std::numeric_limits<double>::infinity();
    bool broken = false;

    CgRun(const Apply& a, Precond m, const VectorXd& rhs, const VectorXd& x0)
        : apply(a), precond(m), b(rhs), x(x0) {
        r = b - apply(x);
        z = precond(r);
        p = z;
        rz = r.dot(z);
    }
    // Converged when the residual is at the rounding level of the product A x:
    // |r| <= 2 eps (|A| |x| + |b|), |A| estimated from the iterations. The recursively updated
    // residual drifts from b - A x when the preconditioned system is badly conditioned, so a
    // claimed convergence is verified against the true residual (within 16x that level) and the
    // run restarts from the true residual otherwise -- unless the true residual did not halve
    // since the previous restart: then it is the floor set by rounding in the product itself.
    bool converged() {
        constexpr double eps = std::numeric_limits<double>::epsilon();
        const double level = eps * (anorm * x.norm() + b.norm());
        if (broken || r.norm() > 2.0 * level) return false;
        r = b - apply(x);
        const double true_norm = r.norm();
        if (true_norm <= 16.0 * level || true_norm > 0.5 * last_true) return true;
        last_true = true_norm;
        z = precond(r);
        p = z;
        rz = r.dot(z);
        return false;
    }
    void step() {
        if (broken) return;
        const VectorXd ap = apply(p);
        const double pap = p.dot(ap);
        if (!(pap > 0.0) || !(rz > 0.0)) {
            broken = true;
            return;
        }
        anorm = std::max(anorm, ap.norm() / p.norm());
        const double alpha = rz / pap;
        x += alpha * p;
        r -= alpha * ap;
        z = precond(r);
        const double rz_new = r.dot(z);
        p = z + (rz_new / rz) * p;
        rz = rz_new;
    }
};

// Structured preconditioners for the damped theta / eta systems. With x = mu + y, the statistic
// is T = t0 + L T0(y), L = [[I, 0], [N, I]], N c = pack(mu c' + c mu', 2), N' s = 2 S mu
// (S the symmetric matrix of s), and Cov(T0) = blockdiag(Sigma, K) with K v = pack(2 Sigma V
// Sigma, 2). Hence I_theta = L D L' and I_eta = L^-T D^-1 L^-1.
//
// theta: I_theta + d Id = L (D + d M) L' with M = L^-1 L^-T = [[I, -N'], [-N, I + N N']]. The
// only approximation is the packed identity inside the pair block of D + d M, whose matrix form
// (V + Diag V)/2 has eigenvalues in [1/2, 1], replaced by 3/4: the pair block becomes a Hadamard
// product in Sigma's eigenbasis (Kt), and the remaining rank-n terms are solved exactly by
// Woodbury / Schur complements with C0 = N' Kt^-1 N in closed form. Preconditioned condition
// number <= 2 for every mu, Sigma and d; O(n^3) set-up and O(n^3) per application.
//
// eta: I_eta + d Id = L^-T (D^-1 + d L'L) L^-1, preconditioned by dropping the off-diagonal
// blocks of L'L (and N'N) and the same 3/4 midpoint: exact at d = 0, otherwise its quality
// depends on |mu| (cond(L'L)), not on the conditioning of Sigma.
struct CentredPreconditioner {
    Eigen::Index n;
    VectorXd mu;
    MatrixXd q;
    VectorXd lam;
    double damping;
    // theta set-up
    MatrixXd h_theta;                // 2 l l' + 3d/4
    Eigen::LLT<MatrixXd> ic_llt;     // I + d C0
    Eigen::LLT<MatrixXd> schur_llt;  // Sigma + d I - d^2 C0 (I + d C0)^-1

    CentredPreconditioner(const VecRef& mean, const MatRef& cov, double d, bool for_theta)
        : n(mean.size()), mu(mean), damping(d) {
        Eigen::SelfAdjointEigenSolver<MatrixXd> eig((MatrixXd(cov)));
        if (eig.info() != Eigen::Success || eig.eigenvalues().minCoeff() <= 0.0) {
            invalid(
                "cov must be symmetric positive definite (eigendecomposition failed or found "
                "a non-positive eigenvalue)");
        }
        q = eig.eigenvectors();
        lam = eig.eigenvalues();
        if (!for_theta) return;
        h_theta = 2.0 * lam * lam.transpose();
        h_theta.array() += 0.75 * damping;
        // C0 = N' Kt^-1 N = 2 [Q diag(m) H^-1 diag(m) Q' + Q diag(H^-1 m^2) Q'], m = Q' mu.
        const VectorXd m = q.transpose() * mu;
        const MatrixXd hinv = h_theta.cwiseInverse();
        const MatrixXd qm = q * m.asDiagonal();
        const VectorXd w = hinv * m.cwiseAbs2();
        MatrixXd c0 = 2.0 * (qm * hinv * qm.transpose() + q * w.asDiagonal() * q.transpose());
        c0 = (0.5 * (c0 + c0.transpose())).eval();
        const MatrixXd eye = MatrixXd::Identity(n, n);
        ic_llt.compute(eye + damping * c0);
        const MatrixXd c1 = c0 * ic_llt.solve(eye);  // C0 (I + d C0)^-1 = N' A22^-1 N
        MatrixXd schur = MatrixXd(cov) + damping * eye - damping * damping * c1;
        schur = (0.5 * (schur + schur.transpose())).eval();
        schur_llt.compute(schur);
        if (ic_llt.info() != Eigen::Success || schur_llt.info() != Eigen::Success) {
            invalid(
                "natural_gradient: the damped preconditioner is not positive definite "
                "(cov too ill-conditioned for this damping)");
        }
    }
    MatrixXd outer_sym(const VectorXd& c) const { return mu * c.transpose() + c * mu.transpose(); }
    // N c as a full packed vector (zero vector part).
    VectorXd n_times(const VectorXd& c) const {
        return packed(VectorXd::Zero(n), outer_sym(c), 2.0);
    }
    // N' s for a full packed vector s (its vector part ignored).
    VectorXd nt_times(const VectorXd& s) const { return 2.0 * (matrix_part(s, n, 1.0) * mu); }
    // Q [(Q' M Q) / H] Q', symmetrised.
    MatrixXd eigen_divide(const MatrixXd& m, const MatrixXd& h) const {
        const MatrixXd y = (q.transpose() * m * q).cwiseQuotient(h);
        const MatrixXd out = q * y * q.transpose();
        return 0.5 * (out + out.transpose());
    }
    // (m c' + c m') / H in the eigenbasis: Kt^-1 N c, with m = Q' mu and c' = Q' c, O(n^2).
    MatrixXd kt_inv_n(const VectorXd& m, const VectorXd& c) const {
        const VectorXd cp = q.transpose() * c;
        return (m * cp.transpose() + cp * m.transpose()).cwiseQuotient(h_theta);
    }
    // The pair block is kept in Sigma's eigenbasis throughout (Y, with V = Q Y Q'), so one
    // application costs two transforms (four n x n GEMMs); N' V = 2 V mu = 2 Q (Y m).
    VectorXd theta(const VectorXd& r) const {
        const VectorXd t = r - n_times(r.head(n));  // L^-1 r
        const VectorXd m = q.transpose() * mu;
        const MatrixXd y1 = (q.transpose() * matrix_part(t, n, 2.0) * q).cwiseQuotient(h_theta);
        const VectorXd u = 2.0 * (q * (y1 * m));  // N' Kt^-1 t_q
        const VectorXd zv = schur_llt.solve(t.head(n) + damping * ic_llt.solve(u));
        const MatrixXd yy = y1 + damping * kt_inv_n(m, zv);  // Kt^-1 (t_q + d N zv)
        const VectorXd c2 = ic_llt.solve(2.0 * (q * (yy * m)));
        const MatrixXd yz = yy - damping * kt_inv_n(m, c2);  // A22^-1 (...)
        MatrixXd v = q * yz * q.transpose();
        v = (0.5 * (v + v.transpose())).eval();
        VectorXd z = packed(zv - 2.0 * (v * mu), v, 1.0);  // L^-T z
        return z;
    }
    // eta system: L blockdiag((Sigma^-1 + d)^-1, (K^-1 + d)^-1 approx) L' r.
    VectorXd eta(const VectorXd& r) const {
        VectorXd t = r;
        t.head(n) += nt_times(r);  // L' r
        const VectorXd vec =
            q * (q.transpose() * t.head(n))
                    .cwiseProduct((lam.array() / (1.0 + damping * lam.array())).matrix());
        MatrixXd h = (0.5 / (lam * lam.transpose()).array()).matrix();
        h.array() += 1.5 * damping;
        const MatrixXd g = eigen_divide(matrix_part(t, n, 1.0), h);
        VectorXd out = packed(vec, g, 2.0);
        return out + n_times(out.head(n));  // L out
    }
};

// (A + d I) x = b with products by A, the undamped inverse A^{-1} (the dual Fisher, for the
// start x0 = A^{-1} b) and a structured preconditioner. With race_plain, CG preconditioned by it
// and plain CG (condition number (l_max + d)/(l_min + d), best when d is large) run in lockstep;
// the first to converge wins, at most twice the cost of the better one.
template <typename Apply, typename Inverse, typename Precond>
VectorXd damped_dual_solve(const Apply& apply, const Inverse& inverse, const Precond& precond,
                           const VectorXd& b, double damping, int max_iter, const char* coords,
                           bool race_plain) {
    if (b.norm() == 0.0) return VectorXd::Zero(b.size());
    auto shifted = [&](const VectorXd& x) -> VectorXd { return apply(x) + damping * x; };
    auto identity = [](const VectorXd& r) -> VectorXd { return r; };
    const VectorXd x0 = inverse(b);
    CgRun<decltype(shifted), const Precond&> structured(shifted, precond, b, x0);
    CgRun<decltype(shifted), decltype(identity)> plain(shifted, identity, b, x0);
    for (int it = 0; it < max_iter; ++it) {
        structured.step();
        if (structured.converged()) return structured.x;
        if (!race_plain) {
            if (structured.broken) break;
            continue;
        }
        plain.step();
        if (plain.converged()) return plain.x;
        if (structured.broken && plain.broken) break;
    }
    const double rel = std::min(structured.r.norm(), plain.r.norm()) / b.norm();
    invalid(std::string("natural_gradient in ") + coords + " coordinates with damping did not " +
            "converge in " + std::to_string(max_iter) +
            " conjugate-gradient iterations (relative "
            "residual " +
            std::to_string(rel) +
            "); assemble fisher(coords) and use "
            "natgrad.natural_gradient(F, grad, damping) instead");
}

}  // namespace

VectorXd fisher_product_natural(const VecRef& mean, const MatRef& cov, const VecRef& v) {
    const Eigen::Index n = checks::mean_and_square("mean", mean, "cov", cov);
    checks::vector("v", v, packed_size(n));
    return checks::finite_result("fisher_product", product_natural(mean, cov, v));
}

VectorXd fisher_product_expectation(const VecRef& mean, const MatRef& precision, const VecRef& v) {
    const Eigen::Index n = checks::mean_and_square("mean", mean, "precision", precision);
    checks::vector("v", v, packed_size(n));
    return checks::finite_result("fisher_product", product_expectation(mean, precision, v));
}

VectorXd fisher_product_mean_cov(const MatRef& precision, const VecRef& v) {
    const Eigen::Index n = checks::square("precision", precision);
    checks::vector("v", v, packed_size(n));
    const MatrixXd b = precision;
    MatrixXd bvb = b * matrix_part(v, n, 1.0) * b;
    symmetrize(bvb);
    return checks::finite_result("fisher_product", packed(b * v.head(n), 0.5 * bvb, 2.0));
}

VectorXd natural_gradient_natural(const VecRef& mean, const MatRef& cov, const MatRef& precision,
                                  const VecRef& grad, double damping, int max_iter) {
    check_solve_args(mean, cov, precision, grad, damping);
    if (damping == 0.0) {  // I_theta^-1 = I_eta
        return checks::finite_result("natural_gradient",
                                     product_expectation(mean, precision, grad));
    }
    const CentredPreconditioner pre(mean, cov, damping, true);
    return checks::finite_result(
        "natural_gradient",
        damped_dual_solve(
            [&](const VectorXd& x) -> VectorXd { return product_natural(mean, cov, x); },
            [&](const VectorXd& r) -> VectorXd { return product_expectation(mean, precision, r); },
            [&](const VectorXd& r) -> VectorXd { return pre.theta(r); }, VectorXd(grad), damping,
            max_iter, "natural", /*race_plain=*/false));  // condition number <= 2: no race
}

VectorXd natural_gradient_expectation(const VecRef& mean, const MatRef& cov,
                                      const MatRef& precision, const VecRef& grad, double damping,
                                      int max_iter) {
    check_solve_args(mean, cov, precision, grad, damping);
    if (damping == 0.0) {  // I_eta^-1 = I_theta
        return checks::finite_result("natural_gradient", product_natural(mean, cov, grad));
    }
    const CentredPreconditioner pre(mean, cov, damping, false);
    return checks::finite_result(
        "natural_gradient",
        damped_dual_solve(
            [&](const VectorXd& x) -> VectorXd { return product_expectation(mean, precision, x); },
            [&](const VectorXd& r) -> VectorXd { return product_natural(mean, cov, r); },
            [&](const VectorXd& r) -> VectorXd { return pre.eta(r); }, VectorXd(grad), damping,
            max_iter, "expectation", /*race_plain=*/true));
}

VectorXd natural_gradient_mean_cov(const MatRef& cov, const VecRef& grad, double damping,
                                   int max_iter) {
    const Eigen::Index n = checks::square("cov", cov);
    checks::vector("grad", grad, packed_size(n));
    checks::damping(damping);
    const MatrixXd s = cov;
    // The gradient's matrix part as a symmetric G with g_ii = G_ii, g_ij = 2 G_ij.
    const MatrixXd gm = matrix_part(grad, n, 2.0);
    if (damping == 0.0) {
        MatrixXd x = 2.0 * s * gm * s;  // I_xi^{-1}: (Sigma g_mu, 2 Sigma G Sigma)
        symmetrize(x);
        return checks::finite_result("natural_gradient", packed(s * grad.head(n), x, 1.0));
    }
    Eigen::SelfAdjointEigenSolver<MatrixXd> eig(s);
    if (eig.info() != Eigen::Success || eig.eigenvalues().minCoeff() <= 0.0) {
        invalid(
            "cov must be symmetric positive definite (eigendecomposition failed or found a "
            "non-positive eigenvalue)");
    }
    const MatrixXd& q = eig.eigenvectors();
    const VectorXd lam = eig.eigenvalues();
    // Mean block: (B + d I)^{-1} g = Q diag(lambda / (1 + d lambda)) Q' g.
    const VectorXd vec = q * (lam.array() / (1.0 + damping * lam.array())).matrix().asDiagonal() *
                         (q.transpose() * grad.head(n));
    // Sigma block: 1/2 B X B + d/2 X + d/2 Diag(X) = G. In the eigenbasis (Y = Q'XQ) the first two
    // terms are the Hadamard product H o Y, H_pq = (1/(l_p l_q) + d) / 2; Diag couples them.
    MatrixXd h(n, n);
    for (Eigen::Index p = 0; p < n; ++p)
        for (Eigen::Index r = 0; r < n; ++r) h(p, r) = 0.5 * (1.0 / (lam[p] * lam[r]) + damping);
    const MatrixXd rhs = q.transpose() * gm * q;
    auto apply = [&](const MatrixXd& y) -> MatrixXd {
        const VectorXd d = ((q * y).cwiseProduct(q)).rowwise().sum();  // diag(Q Y Q')
        MatrixXd out = h.cwiseProduct(y);
        out.noalias() += 0.5 * damping * (q.transpose() * d.asDiagonal() * q);
        return out;
    };
    MatrixXd y = rhs.cwiseQuotient(h);
    MatrixXd r = rhs - apply(y);
    const double bnorm = rhs.norm();
    const double tol = 16.0 * std::numeric_limits<double>::epsilon() * bnorm;
    if (bnorm > 0.0 && r.norm() > tol) {
        MatrixXd z = r.cwiseQuotient(h);
        MatrixXd p = z;
        double rz = r.cwiseProduct(z).sum();
        int it = 0;
        for (; it < max_iter; ++it) {
            const MatrixXd ap = apply(p);
            const double alpha = rz / p.cwiseProduct(ap).sum();
            y += alpha * p;
            r -= alpha * ap;
            if (r.norm() <= tol) break;
            z = r.cwiseQuotient(h);
            const double rz_new = r.cwiseProduct(z).sum();
            p = z + (rz_new / rz) * p;
            rz = rz_new;
        }
        // The preconditioned condition number is <= 2; reaching max_iter means only rounding
        // noise is left in the residual, so the iterate is kept.
    }
    MatrixXd x = q * y * q.transpose();
    symmetrize(x);
    return checks::finite_result("natural_gradient", packed(vec, x, 1.0));
}

}  // namespace natgrad
