import Foundation
import LinearAlgebra

/// ReLU²: max(u, 0)², the MLP activation of modded-nanoGPT.
public enum ReLUSquared {
    public static func forward(_ u: Matrix) -> Matrix {
        var y = u
        for i in y.elements.indices {
            let r = max(y.elements[i], 0)
            y.elements[i] = r * r
        }
        return y
    }

    /// du = dy · 2·max(u, 0).
    public static func backward(_ dy: Matrix, input u: Matrix) -> Matrix {
        var du = dy
        for i in du.elements.indices { du.elements[i] *= 2 * max(u.elements[i], 0) }
        return du
    }
}

/// Mean softmax cross-entropy over rows of logits.
public enum CrossEntropy {
    /// The mean loss and d(loss)/d(logits) = (softmax − onehot)/N.
    ///
    /// - Throws: `TransformerError.invalidToken` for a target outside [0, V).
    public static func lossAndGradient(_ logits: Matrix, targets: [Int32]) throws(TransformerError) -> (loss: Float, dLogits: Matrix) {
        let (n, v) = (logits.rows, logits.columns)
        guard targets.count == n else {
            throw TransformerError(.shapeMismatch, "\(targets.count) targets for \(n) rows of logits")
        }
        var grad = logits
        var total: Double = 0
        var badToken: Int32?
        grad.elements.withUnsafeMutableBufferPointer { pg in
            for i in 0..<n {
                let target = Int(targets[i])
                guard (0..<v).contains(target) else {
                    badToken = targets[i]
                    return
                }
                var largest = -Float.infinity
                for j in 0..<v { largest = max(largest, pg[i * v + j]) }
                var sum: Float = 0
                for j in 0..<v {
                    let e = expf(pg[i * v + j] - largest)
                    pg[i * v + j] = e
                    sum += e
                }
                total += Double(logf(sum) + largest - logits.elements[i * v + target])
                let scale = 1 / (sum * Float(n))
                for j in 0..<v { pg[i * v + j] *= scale }
                pg[i * v + target] -= 1 / Float(n)
            }
        }
        if let badToken {
            throw TransformerError(.invalidToken, "target token \(badToken) is outside the vocabulary of \(v)")
        }
        return (Float(total / Double(max(n, 1))), grad)
    }
}
