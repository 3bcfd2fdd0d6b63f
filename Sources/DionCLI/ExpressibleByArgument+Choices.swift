import ArgumentParser
import Optimizers
import Sharding
import Training

// The command-line values of library enums. Their raw values are the flags' spellings, so
// `--help` lists them and a bad value is refused by the parser, naming the accepted ones.
// The executable is the only place these types meet the argument parser.

/// `dion train --optimizer`.
extension MatrixOptimizer: ExpressibleByArgument {}

/// `--selection` of `dion train` and `dion bench comm`.
extension SelectionMode: ExpressibleByArgument {}

/// `dion train --schedule`.
extension LearningRateSchedule.Shape: ExpressibleByArgument {}

/// `--sync` of `dion train` and `dion bench comm`: automatic, compressed or uncompressed
/// (`averagedByCaller` is the training loop's internal mode, not a flag value).
extension DionDataParallelSync: ExpressibleByArgument {
    public init?(argument: String) {
        guard let value = Self(rawValue: argument), value != .averagedByCaller else { return nil }
        self = value
    }

    public static var allValueStrings: [String] {
        [Self.automatic, .compressed, .uncompressed].map(\.rawValue)
    }
}
