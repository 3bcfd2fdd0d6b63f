import DionDistributed
import LinearAlgebra
import Optimizers
import Sharding

/// One (optimizer, selection mode) pair of the Dion2-family checks.
struct SelectiveVariant: CustomStringConvertible {
    let kind: DistributedSelective.Kind
    let mode: SelectionMode

    static let all: [SelectiveVariant] = [.init(kind: .dion2, mode: .exact), .init(kind: .dion2, mode: .global),
                                          .init(kind: .dion2, mode: .local), .init(kind: .norDion2, mode: .exact),
                                          .init(kind: .norDion2, mode: .global), .init(kind: .norDion2, mode: .local),
                                          .init(kind: .norMuon, mode: .exact)]

    var description: String { kind == .norMuon ? "normuon" : "\(kind.rawValue)/\(mode.rawValue)" }

    var dion2: Dion2.Configuration { get throws { try Dion2.Configuration(fraction: 0.25, weightDecay: 0.01, selection: mode) } }
    var norDion2: NorDion2.Configuration { get throws { try NorDion2.Configuration(fraction: 0.25, weightDecay: 0.01, selection: mode) } }
    var norMuon: NorMuon.Configuration { get throws { try NorMuon.Configuration(weightDecay: 0.01, nesterov: true) } }

    func distributed() throws -> any DistributedSelectiveOptimizer {
        switch kind {
        case .dion2: DistributedDion2(try dion2)
        case .norDion2: DistributedNorDion2(try norDion2)
        case .norMuon: DistributedNorMuon(try norMuon)
        }
    }
}

/// The single-process oracle of one matrix: `Dion2`, `NorDion2` or `NorMuon` for `exact` and
/// `global` (and NorMuon), and for `local` one process applying the reference's per-shard rule —
/// the slices split into the layout's shards (`ChunkSplit` over the axis that shards them), each
/// shard's own top min(size, ⌈α·⌈p/F⌉⌉) by whole-slice L1 norm, their union S orthogonalized
/// together — with otherwise the single-process equations.
struct LocalReference {
    let variant: SelectiveVariant
    var x: Matrix
    var selected: [Int] = []
    /// Whether the layout shards the selection dimension (else `local` is refused).
    let layoutShardsSelection: Bool
    private var dion2: Dion2.State?
    private var norDion2: NorDion2.State?
    private var norMuon: NorMuon.State?
    private let shards: [Int]
    private let localCounts: [Int]

    init(_ variant: SelectiveVariant, parameter: Matrix, layout: ShardLayout, mesh: MeshShape) throws {
        self.variant = variant
        x = parameter
        let dimension: SliceDimension = variant.kind == .dion2 ? .dion2(rows: x.rows, columns: x.columns) : .rows
        layoutShardsSelection = SelectiveSchedule.shardsSlices(layout, dimension: dimension)
        let schedule = SelectiveSchedule(PlannedMatrix(rows: x.rows, columns: x.columns, layout: layout), dimension: dimension, mesh: mesh)
        shards = schedule.sliceShards(mesh)
        localCounts = schedule.localCounts(fraction: 0.25, mesh: mesh)
        switch variant.kind {
        case .dion2: dion2 = try Dion2(try variant.dion2).initialState(for: x)
        case .norDion2: norDion2 = try NorDion2(try variant.norDion2).initialState(for: x)
        case .norMuon: norMuon = try NorMuon(try variant.norMuon).initialState(for: x)
        }
    }

    mutating func step(gradient g: Matrix) throws {
        if variant.mode == .local && variant.kind != .norMuon { return try localStep(g) }
        if var s = dion2 {
            _ = try Dion2(try variant.dion2).step(parameter: &x, gradient: g, state: &s, learningRate: 0.02)
            (dion2, selected) = (s, s.selected)
        } else if var s = norDion2 {
            _ = try NorDion2(try variant.norDion2).step(parameter: &x, gradient: g, state: &s, learningRate: 0.02)
            (norDion2, selected) = (s, s.selected)
        } else if var s = norMuon {
            _ = try NorMuon(try variant.norMuon).step(parameter: &x, gradient: g, state: &s, learningRate: 0.02)
            norMuon = s
        }
    }

    /// The per-shard rule on one process.
    private mutating func localStep(_ g: Matrix) throws {
        var m = dion2?.momentum ?? norDion2?.momentum ?? Matrix(rows: 0, columns: 0)
        let rows = (dion2?.dimension ?? .rows) == .rows
        try BLAS.axpy(1, g, &m)
        let scores = rows ? m.rowL1Norms : m.columnL1Norms
        var s = [Int]()
        var start = 0
        for (size, count) in zip(shards, localCounts) {
            s += SliceSelection.topK(Array(scores[start..<(start + size)]), count: count).map { $0 + start }
            start += size
        }
        let decay = dion2 != nil ? try variant.dion2.errorFeedbackDecay : try variant.norDion2.momentum
        let u = rows ? m.rows(at: s) : m.columns(at: s)
        if rows { m.scaleRows(at: s, by: decay) } else { m.scaleColumns(at: s, by: decay) }
        var o = try NewtonSchulz.orthogonalize(u, coefficients: .polarExpress, epsilon: 1e-8)
        if var state = norDion2 {
            var v = state.variance.rows(at: s)
            o = NeuronNormalization.apply(o, variance: &v, beta2: try variant.norDion2.beta2)
            for (slot, row) in s.enumerated() { state.variance.elements[row] = v.elements[slot] }
            norDion2 = state
        }
        x.scale(1 - 0.02 * 0.01)
        let alpha = -0.02 * (Float(x.rows) / Float(x.columns)).squareRoot()
        if rows { x.addRows(at: s, alpha, o) } else { x.addColumns(at: s, alpha, o) }
        dion2?.momentum = m
        norDion2?.momentum = m
        selected = s
    }
}
