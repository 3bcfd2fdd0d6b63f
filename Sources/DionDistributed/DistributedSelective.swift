import LinearAlgebra
import MPIShim
import Optimizers
import Sharding

/// The distributed step Dion2, NorDion2 and NorMuon share (`DistributedDion2`, `DistributedNorDion2`,
/// `DistributedNorMuon`), on every layout: replicated, FSDP, tensor parallel and FSDP × TP, with any
/// `dp` on top.
///
/// Per step, for a batch of matrices (each collective once for all the matrices that need it, with
/// uneven counts and no padding; `StepPlan.selective` lists them): agree on finiteness, average
/// the gradient over `dp`, update the buffer; score the slices of the selection dimension
/// (`SelectiveSchedule`: Dion2's single-process dimension, rows for the other two) and select —
/// `exact`: every rank learns the whole-matrix L1 scores (partial sums over the other dimension's
/// shards, then one fp64 scalar per slice all-gathered) and takes the exact top-k; `global`: whole
/// shards go to the owner, which selects; `local`: each shard selects its own top-k_loc; route the
/// selected slices to the matrix's owner (two all-to-all stages on FSDP × TP), run Polar Express
/// there on the submatrix in the single-process orientation, route O back; NorMuon and NorDion2
/// then normalize with their per-row second moments (row sums over the column shards, ‖O‖_F and
/// ‖Ô‖_F over the whole matrix: two scalars) and every rank updates its block.
///
/// Owners: the ranks of the group that shards a matrix, chosen greedily by Polar Express cost
/// (`SelectiveSchedule.owners`); an unsharded matrix goes to one rank of the world and O is
/// all-gathered. Replicas over `dp` repeat their group's work (as `DistributedMuon` does).
public struct DistributedSelective: Sendable {
    /// Which optimizer's equations the step applies.
    public enum Kind: String, Sendable, Hashable {
        case dion2, norMuon = "normuon", norDion2 = "nordion2"

        /// The optimizer's name as its paper writes it (in messages).
        public var displayName: String {
            switch self {
            case .dion2: "Dion2"
            case .norMuon: "NorMuon"
            case .norDion2: "NorDion2"
            }
        }
    }

    /// The hyperparameters the shared step needs, taken from the single-process configuration.
    struct Rule: Sendable, Hashable {
        let kind: Kind
        let routing: SelectiveRouting
        let fraction: Double
        /// Error-feedback decay of the selected slices (β for Dion2, μ for NorDion2).
        let decay: Float
        /// NorMuon's μ and Nesterov.
        let momentum: Float
        let nesterov: Bool
        /// NorMuon/NorDion2's β₂, `nil` for Dion2.
        let beta2: Float?
        let cautiousWeightDecay: Bool
        let weightDecay: Float
        let epsilon: Float
        let adjustment: Muon.LearningRateAdjustment
        let nonFinitePolicy: NonFiniteGradientPolicy
        /// The format of the routed slices and of O on the wire (phases 4–8).
        var wire: WirePrecision = .fp32
    }

    /// This rank's share of the state of one matrix (`Codable`: a checkpoint saves M, V, the last
    /// selection and the step, in that order).
    public struct State: Sendable, Equatable, Codable {
        /// This rank's block of M (the error-feedback buffer, or NorMuon's momentum).
        public var momentum: Matrix
        /// V for this rank's rows (localRows × 1; localRows × 0 for Dion2, which has none).
        public var variance: Matrix
        /// The slices selected at the last applied step, ascending: all k of them with `exact` and
        /// `global` (every rank learns them), this rank's shard's with `local`, none for NorMuon.
        public var selected: [Int]
        /// Steps applied so far.
        public var step: Int
        /// The selection dimension.
        public let dimension: SliceDimension
    }

    let rule: Rule
    /// `true` when the caller averages gradients over `dp` itself.
    public let gradientsAveragedByCaller: Bool
    /// `true` when the caller has agreed over the world that every gradient is finite (the
    /// training's one vote per step): the step takes no vote of its own (phase 0 is not issued).
    public let finitenessAgreedByCaller: Bool

    init(rule: Rule, gradientsAveragedByCaller: Bool, finitenessAgreedByCaller: Bool = false) {
        self.rule = rule
        self.gradientsAveragedByCaller = gradientsAveragedByCaller
        self.finitenessAgreedByCaller = finitenessAgreedByCaller
    }

    /// The selection dimension of an m × n matrix.
    func dimension(rows m: Int, columns n: Int) -> SliceDimension {
        SliceDimension.selected(dion2Rule: rule.kind == .dion2, rows: m, columns: n)
    }

    /// M = 0 (and V = 0) on this rank's block.
    ///
    /// - Throws: `OptimizerError.unsupportedTensor` for an empty matrix, a layout the mesh cannot
    ///   step (a matrix replicated over `fsdp` ranks), or the `local` selection on a layout that does
    ///   not shard the selection dimension (it has no shards to select in: use `exact` or `global`).
    func initialState(for x: ShardedMatrix, mesh: DeviceMesh) throws(OptimizerError) -> State {
        let (m, n) = (x.rows, x.columns)
        guard m > 0, n > 0 else {
            throw OptimizerError(.unsupportedTensor, "\(rule.kind.rawValue) needs a non-empty matrix, got \(m)×\(n)")
        }
        try DistributedDion.checkSupported(x.layout, mesh)
        let dimension = dimension(rows: m, columns: n)
        if rule.routing == .local && !SelectiveSchedule.shardsSlices(x.layout, dimension: dimension) {
            throw OptimizerError(.unsupportedTensor, "selection local picks the top-k of each shard of the \(dimension.rawValue) "
                                 + "\(rule.kind.rawValue) selects in a \(m)×\(n) matrix, but \(x.layout) does not shard them; "
                                 + "use selection exact (the same result on one shard) or global")
        }
        return State(momentum: Matrix(rows: x.localRows, columns: x.localColumns),
                     variance: Matrix(rows: x.localRows, columns: rule.beta2 == nil ? 0 : 1), selected: [], step: 0,
                     dimension: dimension)
    }

    /// The matrices of a step as `StepPlan.selective` sees them, with the selection each state
    /// recorded at its last step (so call it after the step whose bytes it should equal).
    func planned(_ xs: [ShardedMatrix], _ states: [State], mesh: MeshShape) -> [PlannedSelection] {
        zip(xs, states).map { x, state in
            let matrix = x.planned()
            let schedule = SelectiveSchedule(matrix, dimension: state.dimension, mesh: mesh)
            let counts: [Int] = switch rule.routing {
            case .exact, .global: schedule.countsPerShard(of: state.selected, mesh: mesh)
            case .local: schedule.localCounts(fraction: rule.fraction, mesh: mesh)
            case .whole: schedule.sliceShards(mesh)
            }
            return PlannedSelection(matrix: matrix, dimension: state.dimension, selectedPerShard: counts)
        }
    }

    /// The collectives the last step of these matrices issued on this rank (`StepPlan.selective`),
    /// from the selection the states recorded: call it after a step in which every matrix applied.
    public func plannedCollectives(forBatch xs: [ShardedMatrix], states: [State], mesh: DeviceMesh) -> [PlannedCollective] {
        StepPlan.selective(planned(xs, states, mesh: mesh.shape), routing: rule.routing, normalizes: rule.beta2 != nil,
                           gradientsAveragedByCaller: gradientsAveragedByCaller, wire: rule.wire, at: mesh.coordinate)
    }

    /// k for a matrix: the routed slices that come back as O.
    func selectedCount(_ schedule: SelectiveSchedule, mesh: MeshShape) -> Int {
        switch rule.routing {
        case .exact, .global: SliceSelection.count(fraction: rule.fraction, of: schedule.p)
        case .local: schedule.localCounts(fraction: rule.fraction, mesh: mesh).reduce(0, +)
        case .whole: schedule.p
        }
    }
}
