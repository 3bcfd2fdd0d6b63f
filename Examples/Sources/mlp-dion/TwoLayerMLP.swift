import LinearAlgebra
import Sharding

/// y = W₂·relu(W₁·x + b₁) + b₂, with its own forward and backward on BLAS, every parameter a
/// `ShardedMatrix` on a dp × fsdp mesh.
///
/// Layouts: each weight takes the layout that keeps Dion's single-process work orientation on
/// every mesh (`DionWorkGeometry.layout(keepingTransposed:on:)`), so Dion does the same arithmetic
/// on 1, 2 or 4 ranks; the biases (column vectors) have their rows over `fsdp`. Parameters are
/// never replicated over `fsdp` ranks: those see different samples, and the optimizers average
/// gradients over `dp` only.
struct TwoLayerMLP {
    /// Hidden × inputs.
    var w1: ShardedMatrix
    /// Hidden × 1.
    var b1: ShardedMatrix
    /// Outputs × hidden.
    var w2: ShardedMatrix
    /// Outputs × 1.
    var b2: ShardedMatrix
    /// Dion's work orientation of each weight (B = Wᵀ), fixed for the whole run.
    let w1Transposed: Bool
    let w2Transposed: Bool

    /// This rank's blocks of the gradients, laid out like the parameters.
    struct Gradients {
        var w1, b1, w2, b2: ShardedMatrix
    }

    /// Draws the initial weights (N(0, 1/fan-in), biases 0). Each rank draws only its own block of
    /// the keyed generator's matrix, so no communication and the same weights on every mesh.
    init(inputs: Int, hidden: Int, outputs: Int, seed: UInt64, mesh: DeviceMesh) throws {
        let generator = KeyedNormalGenerator(seed: seed)
        func weight(_ rows: Int, _ columns: Int, stream: UInt64) throws -> (ShardedMatrix, Bool) {
            let transposed = DionWorkGeometry.singleDeviceTransposed(rows: rows, columns: columns)
            let layout = DionWorkGeometry.layout(keepingTransposed: transposed, on: mesh.shape)
            let block = ShardedMatrix.blockRanges(rows: rows, columns: columns, layout: layout, mesh: mesh)
            let local = generator.block(stream: stream, globalColumns: columns, rows: block.rows, columns: block.columns,
                                        scale: 1 / Float(columns).squareRoot())
            return (try ShardedMatrix(rows: rows, columns: columns, layout: layout, local: local.elements, mesh: mesh),
                    transposed)
        }
        func bias(_ rows: Int) throws -> ShardedMatrix {
            let layout: ShardLayout = mesh.shape.fsdp > 1 ? .fsdp : .replicated
            let block = ShardedMatrix.blockRanges(rows: rows, columns: 1, layout: layout, mesh: mesh)
            return try ShardedMatrix(rows: rows, columns: 1, layout: layout,
                                     local: [Float](repeating: 0, count: block.rows.count), mesh: mesh)
        }
        (w1, w1Transposed) = try weight(hidden, inputs, stream: 101)
        (w2, w2Transposed) = try weight(outputs, hidden, stream: 102)
        b1 = try bias(hidden)
        b2 = try bias(outputs)
    }

    /// The mean squared error over the global batch and this rank's share of its gradients.
    ///
    /// `x` and `y` are this rank's samples (the same count on every rank). The weights are
    /// all-gathered over `fsdp` for the forward and dropped after; the backward's gradients of
    /// this rank's mean loss are summed over `fsdp` by a reduce-scatter into this rank's blocks
    /// and divided by F — the gradient of the mean over the fsdp group's samples. Averaging over
    /// `dp` is left to the optimizers (their default), which makes it the global mean's gradient.
    /// Collective over the mesh; one 1-element all-reduce over the world agrees on the loss.
    func lossAndGradients(x: Matrix, y: Matrix, mesh: DeviceMesh) throws -> (loss: Double, gradients: Gradients) {
        let (w1, b1, w2, b2) = (try whole(self.w1, mesh), try whole(self.b1, mesh), try whole(self.w2, mesh),
                                try whole(self.b2, mesh))
        let samples = x.rows
        // Forward: H = X·W₁ᵀ + b₁, A = relu(H), Ŷ = A·W₂ᵀ + b₂.
        var h = try BLAS.matmul(x, w1, transposeB: true)
        addBias(b1, to: &h)
        var a = h
        for k in a.elements.indices { a.elements[k] = max(a.elements[k], 0) }
        var prediction = try BLAS.matmul(a, w2, transposeB: true)
        addBias(b2, to: &prediction)
        // Loss = mean of (Ŷ − Y)² over this rank's samples and outputs; dŶ = 2(Ŷ − Y)/(samples·outputs).
        var dy = prediction
        var squares = 0.0
        let scale = 2 / Float(samples * y.columns)
        for k in dy.elements.indices {
            let error = prediction.elements[k] - y.elements[k]
            squares += Double(error) * Double(error)
            dy.elements[k] = scale * error
        }
        // Backward: dW₂ = dŶᵀ·A, db₂ = Σ dŶ, dA = dŶ·W₂, dH = dA ⊙ [H > 0], dW₁ = dHᵀ·X, db₁ = Σ dH.
        let dw2 = try BLAS.matmul(dy, transposeA: true, a)
        var dh = try BLAS.matmul(dy, w2)
        for k in dh.elements.indices where h.elements[k] <= 0 { dh.elements[k] = 0 }
        let dw1 = try BLAS.matmul(dh, transposeA: true, x)
        var loss = [squares / Double(samples * y.columns)]
        try mesh.world.allReduce(&loss, op: .sum)
        let f = Float(mesh.shape.fsdp)
        let gradients = Gradients(w1: try shard(dw1, like: self.w1, dividedBy: f, mesh),
                                  b1: try shard(columnSums(dh), like: self.b1, dividedBy: f, mesh),
                                  w2: try shard(dw2, like: self.w2, dividedBy: f, mesh),
                                  b2: try shard(columnSums(dy), like: self.b2, dividedBy: f, mesh))
        return (loss[0] / Double(mesh.world.size), gradients)
    }

    /// The parameter made whole over `fsdp` (the FSDP all-gather before the forward).
    private func whole(_ p: ShardedMatrix, _ mesh: DeviceMesh) throws -> Matrix {
        let (rows, columns, elements) = try p.allGathered(over: .fsdp, on: mesh)
        return try Matrix(rows: rows, columns: columns, elements: elements)
    }

    /// The whole gradient `g` summed over `fsdp` into this rank's block of `p` (the FSDP
    /// reduce-scatter), divided by `divisor`.
    private func shard(_ g: Matrix, like p: ShardedMatrix, dividedBy divisor: Float,
                       _ mesh: DeviceMesh) throws -> ShardedMatrix {
        var mine = try p.reduceScattered(g.elements, over: .fsdp, on: mesh)
        for k in mine.indices { mine[k] /= divisor }
        return try ShardedMatrix(rows: p.rows, columns: p.columns, layout: p.layout, local: mine, mesh: mesh)
    }

    /// Adds the column vector `bias` (n × 1) to every row of `m` (samples × n).
    private func addBias(_ bias: Matrix, to m: inout Matrix) {
        for i in 0..<m.rows {
            for j in 0..<m.columns { m.elements[i * m.columns + j] += bias.elements[j] }
        }
    }

    /// Σ over samples of `m` (samples × n) as an n × 1 column vector.
    private func columnSums(_ m: Matrix) -> Matrix {
        var sums = Matrix(rows: m.columns, columns: 1)
        for i in 0..<m.rows {
            for j in 0..<m.columns { sums.elements[j] += m.elements[i * m.columns + j] }
        }
        return sums
    }
}
