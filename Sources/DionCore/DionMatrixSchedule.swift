/// Which phases of Dion's step one matrix takes part in on a mesh — decided from global shapes,
/// the layout and the configuration alone, so every rank agrees. The distributed step selects the
/// matrices of each batched collective with it, and `StepPlan.dion` lists the same collectives
/// from it: the one place that says who moves what.
public struct DionMatrixSchedule: Sendable, Hashable {
    /// The orientation and the axes sharding P's and Q's sides.
    public let geometry: DionWorkGeometry
    /// Dion's rank r.
    public let rank: Int
    /// The axis sharding P's side (tp) when it has more than one rank: phases 5–8 and 10.
    public let inner: MeshAxis?
    /// The axis sharding Q's side (fsdp) when it has more than one rank: phases 2 (or 3 and 9) and 12.
    public let outer: MeshAxis?
    /// P₀ and R averaged over `dp` instead of the gradient (phases 4 and 11).
    public let compressed: Bool
    /// The gradient averaged over `dp` before the step (phase 1).
    public let averagesGradient: Bool
    /// Orth(P) by the distributed randomized Cholesky QR over the inner axis (phases 6–7); `false`
    /// gathers P over it (phase 8) when there is an inner axis.
    public let distributedOrthonormalization: Bool
    /// With no inner axis but an outer one, P is the same on every `fsdp` rank. Instead of
    /// all-reducing P₀ and orthonormalizing the whole P on every rank, P₀ (with the zero-guard
    /// flag) is reduce-scattered to one owner rank (`OrthonormalizationOwners`; phase 3), which
    /// orthonormalizes it exactly as one process would, and the owners' P are all-gathered
    /// (phase 9). Each P is orthonormalized once, and with the compressed sync only its owner
    /// averages P₀ over `dp`. The bytes equal the all-reduce's when the owners' shares are even
    /// (a batch of at least F similar matrices), and are up to one P more per rank when not.
    public let ownedOrthonormalization: Bool

    /// With an owner among `fsdp` ranks: the elements of P₀ (then P) and the zero-guard flag each
    /// rank holds in phases 3 and 9 — p·r + 1 on the owner, 0 elsewhere (what the step sends and
    /// `StepPlan.dion` prices).
    public func ownedPieces(owner: Int, fsdp: Int) -> [Int] {
        (0..<fsdp).map { $0 == owner ? geometry.p * rank + 1 : 0 }
    }

    /// - Throws: `ShardingError.invalidLayout` for a layout Dion cannot work on.
    public init(_ x: PlannedMatrix, sync: DionDataParallelSync, randomizedCholeskyQR: Bool,
                mesh: MeshShape) throws(ShardingError) {
        geometry = try DionWorkGeometry(layout: x.layout, rows: x.rows, columns: x.columns, preferTransposed: x.transposed)
        rank = x.rank
        inner = geometry.inner(on: mesh)
        outer = geometry.outer(on: mesh)
        compressed = sync.usesCompressedSync(rows: x.rows, columns: x.columns, layout: x.layout, rank: x.rank, mesh: mesh)
        averagesGradient = mesh.replicate > 1 && !compressed && sync != .averagedByCaller
        distributedOrthonormalization = geometry.p > x.rank && randomizedCholeskyQR
        ownedOrthonormalization = inner == nil && outer != nil
    }
}
