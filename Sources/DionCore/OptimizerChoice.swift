/// An optimizer for a weight matrix as the command line names it: `dion:ρ`, `muon`, `adamw`. The one
/// parser `dion train`, `dion bench comm` and `dion simulate` share.
public enum OptimizerChoice: Sendable, Hashable {
    /// Dion at rank fraction ρ (r = ρ·min(m, n), rounded up).
    case dion(rankFraction: Double)
    /// Muon (Newton–Schulz orthogonalization of the whole matrix).
    case muon
    /// AdamW (elementwise).
    case adamw

    /// `dion`, `muon` or `adamw`.
    public var name: String {
        switch self {
        case .dion: "dion"
        case .muon: "muon"
        case .adamw: "adamw"
        }
    }

    /// Dion's rank fraction ρ, `nil` for the others.
    public var rankFraction: Double? {
        if case .dion(let rho) = self { return rho }
        return nil
    }

    /// The smallest rank fraction accepted: below it every matrix up to 2²⁴ gets rank 1 anyway.
    public static let smallestRankFraction = 0x1p-24

    /// Parses `dion:1/16`, `dion:0.25`, `muon`, `adamw`.
    ///
    /// - Throws: `OptimizerChoiceError` saying what is accepted.
    public static func parse(_ text: String) throws(OptimizerChoiceError) -> OptimizerChoice {
        if text == "muon" { return .muon }
        if text == "adamw" { return .adamw }
        if text.hasPrefix("dion:"), let rho = try? rankFraction(parsing: String(text.dropFirst(5))) {
            return .dion(rankFraction: rho)
        }
        throw OptimizerChoiceError(message: "bad optimizer '\(text)'; use dion:ρ with 2^-24 ≤ ρ ≤ 1 (e.g. dion:1/16), muon or adamw")
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
