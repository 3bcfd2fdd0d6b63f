import Foundation
import Testing
import _TestSupport

/// The flags whose values are a fixed set: `--help` lists the values, and a bad value is refused
/// by the parser (before MPI starts) with a message naming the flag and the accepted values.
@Suite("dion command-line choices (--help lists them, bad values are refused)")
struct CommandLineChoicesTests {
    /// `dion` with `arguments`, without mpirun (parsing needs no MPI).
    static func run(_ arguments: [String]) throws -> MPIJob.Result {
        let dion = try #require(TrainMultiRankTests.dion)
        return try MPIJob.runCommand([dion] + arguments, timeout: 60)
    }

    @Test("--help lists every value",
          arguments: [(["train"], "--optimizer <optimizer>", "values: dion, muon, adamw, dion2, normuon, nordion2"),
                      (["train"], "--selection <selection>", "values: exact, global, local"),
                      (["train"], "--schedule <schedule>", "values: constant, cosine, wsd"),
                      (["train"], "--sync <sync>", "values: automatic, compressed, uncompressed"),
                      (["bench", "comm"], "--layout <layout>", "values: replicated, fsdp, column, row"),
                      (["bench", "comm"], "--sync <sync>", "values: automatic, compressed, uncompressed"),
                      (["replay"], "--layout <layout>", "values: auto, replicated, fsdp, column, row"),
                      (["bench", "optimizer"], "--optimizer <optimizer>", "values: dion, muon, adamw"),
                      (["bench", "model"], "--optimizer <optimizer>", "values: dion, adamw")])
    func helpListsValues(command: [String], flag: String, values: String) throws {
        let result = try Self.run(command + ["--help"])
        #expect(result.status == 0, "\(result)")
        // The help wraps long lines: compare with the whitespace collapsed.
        let help = result.standardOutput.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(help.contains(flag) && help.contains(values), "\(result)")
    }

    @Test("a bad value names the flag and the accepted values",
          arguments: [(["train", "--optimizer", "sgd"], "'sgd' is invalid for '--optimizer <optimizer>'", "nordion2"),
                      (["train", "--selection", "nearest"], "'nearest' is invalid for '--selection <selection>'", "local"),
                      (["train", "--schedule", "linear"], "'linear' is invalid for '--schedule <schedule>'", "wsd"),
                      (["train", "--sync", "averagedByCaller"], "'averagedByCaller' is invalid for '--sync <sync>'",
                       "uncompressed"),
                      (["bench", "comm", "--layout", "diagonal"], "'diagonal' is invalid for '--layout <layout>'", "row"),
                      (["replay", "--input", "x", "--output", "y", "--layout", "diagonal"],
                       "'diagonal' is invalid for '--layout <layout>'", "auto")])
    func badValue(arguments: [String], message: String, accepted: String) throws {
        let result = try Self.run(arguments)
        #expect(!result.timedOut && result.status != 0, "\(result)")
        let error = result.standardError.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(error.contains(message) && error.contains(accepted), "\(result)")
    }
}
