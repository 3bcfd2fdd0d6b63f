import ArgumentParser
import ClusterModel
import DionDistributed
import Foundation
import LinearAlgebra
import MPIShim
import Optimizers
import Sharding

/// One (optimizer, shape or model) case of `dion bench comm`.
struct CommBenchCase {
    enum Kind { case dion(Double), muon, adamw, selective(OptimizerChoice) }
    let kind: Kind
    let name: String
    /// What is stepped: one shape ("1024x1024") or a model's name.
    let label: String
    /// Whether `label` names a model (JSON key "model") rather than a shape ("shape").
    let isModel: Bool
    /// The matrices stepped together each step (rows, columns).
    let matrices: [(rows: Int, columns: Int)]

    /// One case per (optimizer, shape), or per optimizer over all of `model`'s weight matrices
    /// (embeddings and heads, which go to AdamW in every optimizer's row, are left out).
    static func parse(optimizers: String, shapes: String, model: ModelDescription? = nil) throws -> [CommBenchCase] {
        let parsedShapes = try shapes.split(separator: ",").map { text -> (Int, Int) in
            let parts = text.lowercased().split(separator: "x").compactMap { Int($0) }
            guard parts.count == 2, parts.allSatisfy({ $0 > 0 }) else { throw ValidationError("bad shape '\(text)'; use MxN") }
            return (parts[0], parts[1])
        }
        let targets: [(label: String, isModel: Bool, matrices: [(rows: Int, columns: Int)])]
        if let model {
            let matrices = model.matrices.filter { !$0.scalarOptimizer }
                .flatMap { group in Array(repeating: (rows: group.rows, columns: group.columns), count: group.count) }
            targets = [(model.name, true, matrices)]
        } else {
            targets = parsedShapes.map { ("\($0.0)x\($0.1)", false, [(rows: $0.0, columns: $0.1)]) }
        }
        let kinds = try optimizers.split(separator: ",").map { text -> (Kind, String) in
            switch try OptimizerChoice.parse(String(text)) {
            case .dion(let rho): return (.dion(rho), String(text))
            case .muon: return (.muon, "muon")
            case .adamw: return (.adamw, "adamw")
            case let choice: return (.selective(choice), String(text))
            }
        }
        return kinds.flatMap { kind in
            targets.map { CommBenchCase(kind: kind.0, name: kind.1, label: $0.label, isModel: $0.isModel, matrices: $0.matrices) }
        }
    }
}

/// The measurements of one case; bytes are per step, the maximum over ranks.
struct CommBenchResult {
    let benchCase: CommBenchCase
    let rank: Int
    let bytesSent: Int
    let bytesReceived: Int
    let predictedSent: Int
    let collectives: Int
    let stepSeconds: Double
    let commSeconds: Double
    /// Communication time per step on the simulated cluster (0 without one).
    let simulatedSeconds: Double

    static let header = "optimizer        shape       rank  sent/rank/step  predicted  recv/rank/step  colls  step ms  comm ms"

    var row: String {
        String(format: "%-15@ %-11@ %5d %15d %10d %15d %6d %8.2f %8.2f", benchCase.name as NSString,
               benchCase.label as NSString, rank, bytesSent, predictedSent, bytesReceived,
               collectives, stepSeconds * 1e3, commSeconds * 1e3)
    }

    /// The JSON record of this result (`dion bench comm --json`).
    func record(mesh: MeshShape, selection: SelectionMode, wire: WirePrecision) -> CommBenchRecord {
        let rho: Double = if case .dion(let value) = benchCase.kind { value } else { 1 }
        var choice: OptimizerChoice? = nil
        if case .selective(let c) = benchCase.kind { choice = c }
        return CommBenchRecord(
            optimizer: benchCase.name.split(separator: ":").first.map(String.init) ?? benchCase.name, rank_fraction: rho,
            fraction: choice?.selectionFraction, selection: choice.map { $0 == .norMuon ? "whole" : selection.rawValue },
            wire: wire.rawValue,
            rank: rank, mesh: ["dp": mesh.replicate, "fsdp": mesh.fsdp, "tp": mesh.tp],
            shape: benchCase.isModel ? nil : benchCase.label, model: benchCase.isModel ? benchCase.label : nil,
            bytes_sent_per_rank: bytesSent, bytes_received_per_rank: bytesReceived, predicted_bytes_sent_per_rank: predictedSent,
            collectives: collectives, step_seconds: stepSeconds, comm_seconds: commSeconds,
            simulated_comm_seconds: simulatedSeconds)
    }
}

/// One case of `dion bench comm --json`: bytes per rank per step, the maximum over ranks.
struct CommBenchRecord: Codable, Equatable {
    var optimizer: String
    var rank_fraction: Double
    /// Dion2's or NorDion2's selection fraction α (absent for the others).
    var fraction: Double?
    /// The selection mode of Dion2 and NorDion2 (exact, global, local), `whole` for NorMuon.
    var selection: String?
    /// The wire format of the optimizer collectives (`--wire`; Dion and AdamW ignore it).
    var wire: String
    var rank: Int
    var mesh: [String: Int]
    /// The matrix shape ("130x70"), or `model` for a whole model's matrices.
    var shape: String?
    var model: String?
    var bytes_sent_per_rank: Int
    var bytes_received_per_rank: Int
    /// What the step plan says this step sends (`StepPlan`).
    var predicted_bytes_sent_per_rank: Int
    var collectives: Int
    var step_seconds: Double
    var comm_seconds: Double
    var simulated_comm_seconds: Double
}

/// Runs the cases on the mesh with real collectives.
struct CommBenchRunner {
    let mesh: DeviceMesh
    let layout: ShardLayout
    let sync: DistributedDion.DataParallelSync
    let steps: Int
    /// The selection of Dion2 and NorDion2.
    var selection: SelectionMode = .exact
    /// The wire format of Muon's, Dion2's, NorMuon's and NorDion2's collectives.
    var wire: WirePrecision = .fp32

    func run(_ c: CommBenchCase) throws -> CommBenchResult {
        let generator = KeyedNormalGenerator(seed: 11)
        let replica = UInt64(mesh.index(on: .replicate))
        var xs = try c.matrices.enumerated().map { i, shape in
            let x0 = generator.block(stream: 1 + UInt64(i), globalColumns: shape.columns, rows: 0..<shape.rows,
                                     columns: 0..<shape.columns, scale: 0.02)
            return try ShardedMatrix(scattering: x0.elements, rows: shape.rows, columns: shape.columns, layout: layout, mesh: mesh)
        }
        func gradients(_ step: Int) throws -> [ShardedMatrix] {
            try c.matrices.enumerated().map { i, shape in
                let g = generator.matrix(stream: 1000 + 100 * replica + UInt64(step) + 1_000_000 * UInt64(i),
                                         rows: shape.rows, columns: shape.columns)
                return try ShardedMatrix(scattering: g.elements, rows: shape.rows, columns: shape.columns, layout: layout,
                                         mesh: mesh)
            }
        }
        let ids = xs.indices.map { UInt64($0) }  // matrix i has parameter id i (ImplementedSchedule assumes it)
        var stepFunction: ([ShardedMatrix]) throws -> Void
        var plan: [PlannedCollective]
        /// For data-dependent plans: the plan of the step just taken.
        var planAfterStep: (() -> [PlannedCollective])?
        var rank = 0
        switch c.kind {
        case .dion(let rho):
            // All matrices of the case step as one batch.
            let dion = DistributedDion(try DionConfiguration(rank: .fraction(rho)), dataParallelSync: sync)
            var states = try xs.indices.map { try dion.initialState(for: xs[$0], parameterID: ids[$0], mesh: mesh) }
            rank = states.map { $0.q.columns }.max() ?? 0
            plan = try dion.plannedCollectives(forBatch: xs.indices.map { (xs[$0], states[$0].q.columns, nil) }, mesh: mesh)
            let rates = [Float](repeating: 0.01, count: xs.count)
            stepFunction = { gs in
                _ = try dion.step(parameters: &xs, gradients: gs, states: &states, learningRates: rates, mesh: mesh)
            }
        case .muon:
            let muon = DistributedMuon(try Muon.Configuration(), wire: wire)
            var states = try xs.indices.map { try muon.initialState(for: xs[$0], parameterID: ids[$0], mesh: mesh) }
            plan = xs.indices.flatMap { muon.plannedCollectives(for: xs[$0], parameterID: ids[$0], mesh: mesh) }
            stepFunction = { gs in
                for i in xs.indices {
                    _ = try muon.step(parameter: &xs[i], gradient: gs[i], state: &states[i], learningRate: 0.01, mesh: mesh)
                }
            }
        case .selective(let choice):
            let optimizer: any DistributedSelectiveOptimizer = switch choice {
            case .norMuon: DistributedNorMuon(try NorMuon.Configuration(), wire: wire)
            case .norDion2(let alpha): DistributedNorDion2(try NorDion2.Configuration(fraction: alpha, selection: selection),
                                                           wire: wire)
            default: DistributedDion2(try Dion2.Configuration(fraction: choice.selectionFraction ?? 0.25, selection: selection),
                                      wire: wire)
            }
            var states = try xs.map { try optimizer.initialState(for: $0, mesh: mesh) }
            let rates = [Float](repeating: 0.01, count: xs.count)
            plan = []
            stepFunction = { gs in
                _ = try optimizer.step(parameters: &xs, gradients: gs, states: &states, learningRates: rates, mesh: mesh)
            }
            planAfterStep = { optimizer.plannedCollectives(forBatch: xs, states: states, mesh: mesh) }
        case .adamw:
            let adam = DistributedElementwise(AdamW(try AdamW.Configuration()))
            var states = try xs.map { try adam.initialState(for: $0) }
            plan = xs.flatMap { adam.plannedCollectives(for: $0, mesh: mesh) }
            stepFunction = { gs in
                for i in xs.indices {
                    _ = try adam.step(parameter: &xs[i], gradient: gs[i], state: &states[i], learningRate: 0.01, mesh: mesh)
                }
            }
        }
        try stepFunction(try gradients(0))
        // The timed steps cycle through gradients drawn before the clock starts (drawing a
        // 2048×2048 gradient costs more than a small-rank Dion step).
        let timedGradients = try (1...min(steps, 3)).map { try gradients($0) }
        let ledger = CommunicationLedger.shared
        let before = ledger.snapshot()
        let quiet = CommunicationLedger()
        quiet.isEnabled = false
        let control = try mesh.world.duplicate(label: "bench-control", ledger: quiet)
        try control.barrier()
        let start = MPIRuntime.wallTime()
        var plannedBytes = 0
        for step in 1...steps {
            try stepFunction(timedGradients[(step - 1) % timedGradients.count])
            plannedBytes += planAfterStep.map { $0().reduce(0) { $0 + $1.bytesSent } } ?? plan.reduce(0) { $0 + $1.bytesSent }
        }
        let elapsed = MPIRuntime.wallTime() - start
        let timed = ledger.grandTotal(since: before)
        let mine: [Double] = [Double(timed.bytesSent) / Double(steps), Double(timed.bytesReceived) / Double(steps),
                              Double(timed.calls) / Double(steps), elapsed / Double(steps), timed.seconds / Double(steps),
                              Double(plannedBytes) / Double(steps), timed.simulatedSeconds / Double(steps)]
        let worst = try control.allReduced(mine, op: .max)
        return CommBenchResult(benchCase: c, rank: rank, bytesSent: Int(worst[0]), bytesReceived: Int(worst[1]),
                               predictedSent: Int(worst[5]), collectives: Int(worst[2]), stepSeconds: worst[3],
                               commSeconds: worst[4], simulatedSeconds: worst[6])
    }
}
