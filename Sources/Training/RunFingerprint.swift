import MPIShim

/// Every setting of a run as one rank parsed it, compared across ranks before step 1.
///
/// Ranks started with different flags (a launcher script that differs per host, a data file that
/// differs between hosts) would otherwise train different runs in lockstep until a collective
/// mismatched or hung. `check(over:)` all-gathers one 64-bit hash per field (8 bytes × fields ×
/// ranks) and, when any differs from rank 0's, all-gathers that field's text so that every rank
/// throws the same error naming the field and both values.
public struct RunFingerprint: Sendable {
    /// One setting: its name (a flag, e.g. `--lr`) and its value as text.
    public struct Field: Sendable, Hashable {
        public let name: String
        public let value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// The settings, in an order every rank shares.
    public let fields: [Field]

    public init(fields: [Field]) {
        self.fields = fields
    }

    /// FNV-1a of a field's name and value.
    static func hash(_ field: Field) -> Int64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in field.name.utf8 + [0] + field.value.utf8 { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return Int64(bitPattern: h)
    }

    /// Compares the fields across the ranks of `world` (collective; every rank must call it
    /// with the same fields in the same order, which one build of the caller guarantees).
    ///
    /// - Throws: `TrainingError.invalidConfiguration` on every rank, naming the first field
    ///   that differs, the first rank where it differs, and both values; `.communication`
    ///   (with the `MPIError`) when a collective fails.
    public func check(over world: Communicator) throws(TrainingError) {
        let width = fields.count
        let difference: (rank: Int, index: Int)?
        let texts: (values: [UInt8], counts: [Int])
        do throws(MPIError) {
            let all = try world.allGather(fields.map(Self.hash))
            difference = Self.firstDifference(all, width: width, ranks: world.size)
            guard let difference else { return }
            // Every rank found the same difference: one more all-gather, of that field's text.
            texts = try world.allGatherVariable(Array(fields[difference.index].value.utf8))
        } catch {
            throw TrainingError(communication: error, while: "comparing the settings across ranks")
        }
        guard let (rank, index) = difference else { return }
        func text(_ r: Int) -> String {
            let start = texts.counts[..<r].reduce(0, +)
            return String(decoding: texts.values[start..<(start + texts.counts[r])], as: UTF8.self)
        }
        throw TrainingError(.invalidConfiguration, "the ranks were started with different settings: \(fields[index].name) "
                            + "is '\(text(0))' on rank 0 but '\(text(rank))' on rank \(rank); every rank must get the same "
                            + "command line and the same files")
    }

    /// The first rank whose hashes differ from rank 0's, and the first field that differs.
    static func firstDifference(_ all: [Int64], width: Int, ranks: Int) -> (rank: Int, index: Int)? {
        guard width > 0, all.count == width * ranks else { return nil }
        for rank in 1..<max(ranks, 1) {
            for k in 0..<width where all[rank * width + k] != all[k] { return (rank, k) }
        }
        return nil
    }
}
