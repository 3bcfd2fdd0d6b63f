/// Quintic Newton–Schulz iterations that push a matrix's singular values toward 1 (Muon's
/// orthogonalization, §3), in fp32.
public enum NewtonSchulz {
    /// Coefficient schedules.
    public enum Coefficients: String, Sendable, Hashable, Codable, CaseIterable {
        /// Polar Express (arXiv 2505.16932), five per-step (a, b, c); the input is normalized by
        /// 1.02·‖X‖_F + ε. The default of the Dion repository's Muon.
        case polarExpress = "polar-express"
        /// Keller Jordan's constant (3.4445, −4.7750, 2.0315) for five steps; normalized by ‖X‖_F + ε.
        case kellerJordan = "keller-jordan"
        /// The per-step schedule the Dion repository uses when Polar Express is off.
        case perStepNS5 = "ns5-per-step"

        var schedule: [(Float, Float, Float)] {
            switch self {
            case .polarExpress:
                [(8.156554524902461, -22.48329292557795, 15.878769915207462),
                 (4.042929935166739, -2.808917465908714, 0.5000178451051316),
                 (3.8916678022926607, -2.772484153217685, 0.5060648178503393),
                 (3.285753657755655, -2.3681294933425376, 0.46449024233003106),
                 (2.3465413258596377, -1.7097828382687081, 0.42323551169305323)]
            case .kellerJordan:
                Array(repeating: (3.4445, -4.7750, 2.0315), count: 5)
            case .perStepNS5:
                [(4.0848, -6.8946, 2.9270), (3.9505, -6.3029, 2.6377), (3.7418, -5.5913, 2.3037),
                 (2.8769, -3.1427, 1.2046), (2.8366, -3.0525, 1.2012)]
            }
        }

        var normalization: Float { self == .polarExpress ? 1.02 : 1 }
    }

    /// The orthogonalized matrix. Wide (rows ≤ columns): A = XXᵀ, X ← aX + (bA + cA²)X;
    /// tall: A = XᵀX, X ← aX + X(bA + cA²).
    public static func orthogonalize(_ g: Matrix, coefficients: Coefficients = .polarExpress,
                                     epsilon: Float = 1e-7) throws(LinearAlgebraError) -> Matrix {
        var x = g
        x.scale(1 / (coefficients.normalization * g.frobeniusNorm + epsilon))
        let wide = x.rows <= x.columns
        for (a, b, c) in coefficients.schedule {
            let gram = wide ? try BLAS.matmul(x, x, transposeB: true) : try BLAS.matmul(x, transposeA: true, x)
            var poly = try BLAS.matmul(gram, gram)
            poly.scaleAndAdd(c, b, gram)
            var next = x
            if wide {
                try BLAS.gemm(poly, x, alpha: 1, beta: a, into: &next)
            } else {
                try BLAS.gemm(x, poly, alpha: 1, beta: a, into: &next)
            }
            x = next
        }
        return x
    }
}
