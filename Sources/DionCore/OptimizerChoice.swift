/// An optimizer for a weight matrix as the command line names it: `dion:ρ`, `muon`, `adamw`,
/// `dion2:α`, `nordion2:α`, `normuon`. The one parser `dion train`, `dion bench comm` and `dion
/// simulate` share.
public enum OptimizerChoice: Sendable, Hashable {
    /// Dion at rank fraction ρ (r = ρ·min(m, n), rounded up).
    case dion(rankFraction: Double)
    /// Muon (Newton–Schulz orthogonalization of the whole matrix).
    case muon
    /// AdamW (elementwise).
    case adamw
    /// Dion2 with the fraction α of slices selected per step.
    case dion2(fraction: Double)
    /// NorMuon (Muon with a neuron-wise second moment).
    case norMuon
    /// NorDion2 with the fraction α of rows selected per step.
    case norDion2(fraction: Double)

    /// The optimizer without its hyperparameters.
    public var kind: OptimizerKind {
        switch self {
        case .dion: .dion
        case .muon: .muon
        case .adamw: .adamw
        case .dion2: .dion2
        case .norMuon: .normuon
        case .norDion2: .nordion2
        }
    }

    /// Whether this is Dion2 (which selects rows or columns by Dion2's rule; NorDion2 selects rows).
    public var isDion2: Bool {
        if case .dion2 = self { return true }
        return false
    }

    /// `dion`, `muon`, `adamw`, `dion2`, `normuon` or `nordion2` (the JSON records' name).
    public var name: String { kind.rawValue }

    /// Dion2's or NorDion2's selection fraction α, `nil` for the others.
    public var selectionFraction: Double? {
        switch self {
        case .dion2(let alpha), .norDion2(let alpha): alpha
        default: nil
        }
    }

    /// The default α of `dion2` and `nordion2` written without one (the reference's 0.25).
    public static let defaultSelectionFraction = 0.25

    /// Dion's rank fraction ρ, `nil` for the others.
    public var rankFraction: Double? {
        if case .dion(let rho) = self { return rho }
        return nil
    }

    /// The smallest rank fraction accepted: below it every matrix up to 2²⁴ gets rank 1 anyway.
    public static let smallestRankFraction = 0x1p-24

    /// Parses `dion:1/16`, `dion:0.25`, `muon`, `adamw`, `dion2:0.25` (or `dion2`, α = 0.25), `nordion2:1/4`,
    /// `normuon`.
    ///
    /// - Throws: `OptimizerChoiceError` saying what is accepted.
    public static func parse(_ text: String) throws(OptimizerChoiceError) -> OptimizerChoice {
        switch text {
        case "muon": return .muon
        case "adamw": return .adamw
        case "normuon": return .norMuon
        case "dion2": return .dion2(fraction: defaultSelectionFraction)
        case "nordion2": return .norDion2(fraction: defaultSelectionFraction)
        default: break
        }
        if text.hasPrefix("dion:"), let rho = try? rankFraction(parsing: String(text.dropFirst(5))) {
            return .dion(rankFraction: rho)
        }
        for (prefix, make) in [("dion2:", { OptimizerChoice.dion2(fraction: $0) }), ("nordion2:", { .norDion2(fraction: $0) })]
            where text.hasPrefix(prefix) {
            if let alpha = try? rankFraction(parsing: String(text.dropFirst(prefix.count))) { return make(alpha) }
            throw OptimizerChoiceError(message: "bad optimizer '\(text)'; the fraction α of \(prefix)α is a number like 0.25 "
                                       + "or 1/4 in (0, 1]")
        }
        throw OptimizerChoiceError(message: "bad optimizer '\(text)'; use dion:ρ with 2^-24 ≤ ρ ≤ 1 (e.g. dion:1/16), muon, "
                                   + "adamw, dion2:α, nordion2:α (0 < α ≤ 1, e.g. dion2:0.25) or normuon")
    }

    /// Parses a rank fraction written `0.25` or `1/4`, in [2⁻²⁴, 1].
    ///
    /// - Throws: `OptimizerChoiceError` when it is not such a number.
    public static func rankFraction(parsing text: String) throws(OptimizerChoiceError) -> Double {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        let value: Double? = switch parts.count {
        case 1: Double(text)
        case 2: Double(parts[0]).flatMap { a in Double(parts[1]).flatMap { $0 == 0 ? nil : a / $0 } }
        default: nil
        }
        guard let value, value.isFinite, value >= smallestRankFraction, value <= 1 else {
            throw OptimizerChoiceError(message: "a rank fraction is a number like 0.25 or 1/4 in [2^-24, 1], got '\(text)'")
        }
        return value
    }
}

/// A command-line optimizer or rank fraction that does not parse.
public struct OptimizerChoiceError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was written and what is accepted.
    public let message: String
    public var description: String { message }
}
