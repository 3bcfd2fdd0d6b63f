import LinearAlgebra
import Synchronization

/// Recycled activation buffers: the forward and backward pass take their fresh N×d, N×h, N×3d,
/// N×V and probability matrices from here and give them back at the end of the step, so after the
/// first step a step allocates (and the kernel zero-fills and faults in) no new activation memory.
///
/// Safe under value semantics: a recycled buffer that someone still references (a gradient a
/// `ParameterSource` kept) is copied on write when it is taken again, never overwritten in place.
/// One pool per model; a `Mutex` makes it shareable, though one step uses it from one thread.
public final class ActivationPool: Sendable {
    /// Buffers larger than this many floats are pooled; smaller ones come from malloc's bins.
    public static let minimumCount = 4096
    /// At most this many free buffers of one size are kept.
    public static let perSizeLimit = 128

    private struct State {
        var free: [Int: [[Float]]] = [:]
        var statistics = Statistics()
    }
    private let state = Mutex(State())

    /// What the pool has handed out since it was made.
    public struct Statistics: Sendable, Equatable {
        /// Buffers allocated because none of their size was free.
        public var allocations = 0
        /// Floats in those buffers.
        public var allocatedFloats = 0
        /// Buffers handed out again.
        public var reuses = 0
    }

    public init() {}

    /// Allocations and reuses so far.
    public var statistics: Statistics { state.withLock { $0.statistics } }

    /// A free buffer of exactly `count` floats (contents undefined), or nil.
    func take(_ count: Int) -> [Float]? {
        guard count >= Self.minimumCount else { return nil }
        return state.withLock { s -> [Float]? in
            guard let buffer = s.free[count]?.popLast() else {
                s.statistics.allocations += 1
                s.statistics.allocatedFloats += count
                return nil
            }
            s.statistics.reuses += 1
            return buffer
        }
    }

    /// Gives the buffers of `matrices` back for later steps.
    func recycle(_ matrices: Matrix...) { recycle(matrices) }

    /// Gives the buffers of `matrices` back for later steps.
    func recycle(_ matrices: [Matrix]) {
        state.withLock { s in
            for m in matrices where m.elements.count >= Self.minimumCount {
                var list = s.free[m.elements.count, default: []]
                if list.count < Self.perSizeLimit { list.append(m.elements) }
                s.free[m.elements.count] = list
            }
        }
    }

    /// op(A)·op(B) into a pooled buffer (no zero-fill).
    ///
    /// - Throws: `TransformerError.shapeMismatch` when the shapes do not chain.
    func product(_ a: Matrix, transposeA: Bool = false, _ b: Matrix, transposeB: Bool = false) throws(TransformerError) -> Matrix {
        let m = transposeA ? a.columns : a.rows, k = transposeA ? a.rows : a.columns
        let kb = transposeB ? b.columns : b.rows, n = transposeB ? b.rows : b.columns
        guard k == kb, k > 0 else {
            return try TransformerError.arithmetic { () throws(LinearAlgebraError) in
                try BLAS.matmul(a, transposeA: transposeA, b, transposeB: transposeB)
            }
        }
        return Matrix.uninitialized(rows: m, columns: n, pool: self) { pc in
            a.elements.withUnsafeBufferPointer { pa in
                b.elements.withUnsafeBufferPointer { pb in
                    guard let pc, let a0 = pa.baseAddress, let b0 = pb.baseAddress else { return }
                    BLAS.gemm(m: m, n: n, k: k, a0, lda: a.columns, transposeA: transposeA, b0, ldb: b.columns,
                              transposeB: transposeB, into: pc, ldc: n)
                }
            }
        }
    }

    /// A copy of `x` in a pooled buffer.
    func copy(_ x: Matrix) -> Matrix {
        Matrix.uninitialized(rows: x.rows, columns: x.columns, pool: self) { p in
            x.elements.withUnsafeBufferPointer { px in
                guard let p, let x0 = px.baseAddress else { return }
                p.update(from: x0, count: px.count)
            }
        }
    }

    /// A zero matrix in a pooled buffer.
    func zeros(rows: Int, columns: Int) -> Matrix {
        Matrix.uninitialized(rows: rows, columns: columns, pool: self) { p in p?.update(repeating: 0, count: rows * columns) }
    }
}
