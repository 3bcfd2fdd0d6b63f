import Checkpointing
import TrainingData

extension ByteCorpus {
    /// The CRC-32C of the whole text (training then validation bytes): what identifies the data
    /// of a run in its checkpoints and across ranks, wherever the file lies.
    public var checksum: UInt32 {
        var crc = CRC32C()
        crc.update(train)
        crc.update(validation)
        return crc.value
    }

    /// `N bytes, CRC-32C hex`.
    public var identity: String { "\(train.count + validation.count) bytes, crc32c \(String(checksum, radix: 16))" }
}
