import LinearAlgebra

extension Matrix {
    /// A rows×columns matrix whose every element `fill` writes, without zero-filling the buffer
    /// first (a fresh activation that a GEMM or a fused kernel overwrites whole); its buffer comes
    /// from `pool` when one of that size is free.
    ///
    /// - Precondition: `fill` writes all `rows · columns` elements; it receives nil only for an
    ///   empty matrix.
    static func uninitialized(rows: Int, columns: Int, pool: ActivationPool? = nil,
                              _ fill: (UnsafeMutablePointer<Float>?) throws -> Void) rethrows -> Matrix {
        let count = rows * columns
        var elements: [Float]
        if var recycled = pool?.take(count) {
            try recycled.withUnsafeMutableBufferPointer { try fill($0.baseAddress) }
            elements = recycled
        } else {
            elements = try [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                try fill(count > 0 ? buffer.baseAddress : nil)
                initialized = count
            }
        }
        do {
            return try Matrix(rows: rows, columns: columns, elements: elements)
        } catch {
            preconditionFailure("\(count) elements always form a \(rows)×\(columns) matrix")
        }
    }
}
