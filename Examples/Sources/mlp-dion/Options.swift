import Sharding

/// A command-line option this example does not accept, with what to write instead.
struct OptionsError: Error, CustomStringConvertible {
    let description: String
}

/// The example's options: `--mesh dp=R,fsdp=F`, `--steps N`, `--batch B`.
struct Options {
    /// The mesh; `nil` picks one for the number of processes (`defaultMesh(processes:)`).
    var mesh: MeshShape?
    /// Optimizer steps to run.
    var steps = 20
    /// Samples per step over all ranks; a multiple of dp · fsdp.
    var batch = 64

    /// Parses the arguments after the program name.
    ///
    /// - Throws: `OptionsError` naming the option that is wrong.
    init(parsing arguments: [String]) throws(OptionsError) {
        var rest = arguments[...]
        while let flag = rest.popFirst() {
            guard let value = rest.popFirst() else { throw OptionsError(description: "\(flag) needs a value") }
            switch flag {
            case "--mesh":
                do throws(ShardingError) {
                    mesh = try MeshShape(parsing: value)
                } catch {
                    throw OptionsError(description: "--mesh \(value): \(error.message)")
                }
            case "--steps": steps = try Self.positive(value, flag)
            case "--batch": batch = try Self.positive(value, flag)
            default:
                throw OptionsError(description: "unknown option \(flag); use --mesh dp=R,fsdp=F, --steps N, --batch B")
            }
        }
    }

    /// The mesh for `processes` ranks when none is given: fsdp = 2 when the count is even, the
    /// rest data parallel (1 → 1×1, 2 → dp=1,fsdp=2, 4 → dp=2,fsdp=2).
    static func defaultMesh(processes: Int) throws(ShardingError) -> MeshShape {
        let fsdp = processes % 2 == 0 ? 2 : 1
        return try MeshShape(replicate: processes / fsdp, fsdp: fsdp)
    }

    private static func positive(_ text: String, _ flag: String) throws(OptionsError) -> Int {
        guard let value = Int(text), value > 0 else {
            throw OptionsError(description: "\(flag) must be a positive integer, got '\(text)'")
        }
        return value
    }
}
