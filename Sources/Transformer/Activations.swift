import Foundation
import LinearAlgebra

/// ReLU²: max(u, 0)², the MLP activation of modded-nanoGPT.
public enum ReLUSquared {
    /// max(u, 0)² into a fresh matrix (written once, not copied then overwritten; from `pool`
    /// when given).
    public static func forward(_ u: Matrix, pool: ActivationPool? = nil) -> Matrix {
        Matrix.uninitialized(rows: u.rows, columns: u.columns, pool: pool) { py in
            guard let py else { return }
            u.elements.withUnsafeBufferPointer { pu in
                for i in 0..<pu.count {
                    let r = max(pu[i], 0)
                    py[i] = r * r
                }
            }
        }
    }

    /// du = dy · 2·max(u, 0).
    public static func backward(_ dy: Matrix, input u: Matrix) -> Matrix {
        var du = dy
        backward(&du, input: u)
        return du
    }

    /// In place: dy ← dy · 2·max(u, 0).
    public static func backward(_ dy: inout Matrix, input u: Matrix) {
        precondition(dy.elements.count == u.elements.count, "ReLU² backward: shapes")
        u.elements.withUnsafeBufferPointer { pu in
            dy.elements.withUnsafeMutableBufferPointer { pd in
                for i in 0..<pd.count { pd[i] *= 2 * max(pu[i], 0) }
            }
        }
    }
}

/// Mean softmax cross-entropy over rows of logits.
public enum CrossEntropy {
    /// The mean loss and d(loss)/d(logits) = (softmax − onehot)/N.
    ///
    /// - Throws: `TransformerError.invalidToken` for a target outside [0, V).
    public static func lossAndGradient(_ logits: Matrix, targets: [Int32]) throws(TransformerError) -> (loss: Float, dLogits: Matrix) {
        var grad = logits
        let loss = try lossAndGradient(overwriting: &grad, targets: targets)
        return (loss, grad)
    }

    /// The mean loss; `logits` becomes d(loss)/d(logits) in place (softmax, loss and gradient in
    /// one sweep per row: max, exp and sum, then the scaling).
    ///
    /// - Throws: `TransformerError.invalidToken` for a target outside [0, V) (logits are then
    ///   partly overwritten); `TransformerError.shapeMismatch` for a wrong number of targets.
    public static func lossAndGradient(overwriting logits: inout Matrix, targets: [Int32]) throws(TransformerError) -> Float {
        let (n, v) = (logits.rows, logits.columns)
        guard targets.count == n else {
            throw TransformerError(.shapeMismatch, "\(targets.count) targets for \(n) rows of logits")
        }
        if let bad = targets.first(where: { !(0..<Int32(clamping: v)).contains($0) }) {
            throw TransformerError(.invalidToken, "target token \(bad) is outside the vocabulary of \(v)")
        }
        var total: Double = 0
        let inverseN = 1 / Float(max(n, 1))
        logits.elements.withUnsafeMutableBufferPointer { pg in
            guard let base = pg.baseAddress else { return }
            for i in 0..<n {
                let row = base + i * v, target = Int(targets[i])
                var largest = -Float.infinity
                for j in 0..<v { largest = max(largest, row[j]) }
                let targetLogit = row[target]
                var sum: Float = 0
                for j in 0..<v {
                    let e = expf(row[j] - largest)
                    row[j] = e
                    sum += e
                }
                total += Double(logf(sum) + largest - targetLogit)
                let scale = inverseN / sum
                for j in 0..<v { row[j] *= scale }
                row[target] -= inverseN
            }
        }
        return Float(total / Double(max(n, 1)))
    }
}
