/// One named tensor of a rank's checkpoint file: its element type, its local shape and, for a
/// shard of a larger tensor, the global shape and where the block starts — enough for a
/// reader on another mesh to reassemble and re-slice it.
public struct CheckpointTensor: Sendable, Equatable, Codable {
    /// Element types a checkpoint stores (little-endian).
    public enum Element: String, Sendable, Codable, CaseIterable {
        case float32, float64, int64, uint8

        /// Bytes per element.
        public var size: Int {
            switch self {
            case .float32: 4
            case .float64, .int64: 8
            case .uint8: 1
            }
        }
    }

    /// Unique name within the file (e.g. `layers.0.attn.wq/dion.momentum`).
    public let name: String
    /// Element type.
    public let element: Element
    /// Shape of the stored block.
    public let shape: [Int]
    /// Shape of the whole tensor when this is a shard, else `nil`.
    public let globalShape: [Int]?
    /// Index of the block's first element in each dimension of the whole tensor, else `nil`.
    public let offsets: [Int]?
    /// The raw little-endian bytes.
    public let bytes: [UInt8]

    /// A tensor from raw bytes, validated against its shape.
    ///
    /// Every size is checked with overflow-reporting arithmetic, so a crafted index (a file
    /// whose CRC was recomputed after editing it) is refused rather than trapping.
    ///
    /// - Throws: `CheckpointError.corrupt` for a negative dimension, a shape whose element or byte
    ///   count overflows, a byte count that does not match the shape, `globalShape` without
    ///   `offsets` (or the reverse), or a block that does not fit its global shape.
    public init(name: String, element: Element, shape: [Int], globalShape: [Int]? = nil, offsets: [Int]? = nil,
                bytes: [UInt8]) throws(CheckpointError) {
        let needed = try Self.byteCount(of: shape, element: element, name: name)
        guard needed == bytes.count else {
            throw CheckpointError(.corrupt, "tensor \(name): shape \(shape) of \(element.rawValue) needs "
                                  + "\(needed) bytes, got \(bytes.count)")
        }
        switch (globalShape, offsets) {
        case (nil, nil):
            break
        case (let globalShape?, let offsets?):
            try Self.checkBlock(shape: shape, globalShape: globalShape, offsets: offsets, name: name)
        default:
            throw CheckpointError(.corrupt, "tensor \(name): a block needs both globalShape and offsets, got "
                                  + "globalShape \(globalShape.map { "\($0)" } ?? "none") and offsets "
                                  + "\(offsets.map { "\($0)" } ?? "none")")
        }
        self.name = name
        self.element = element
        self.shape = shape
        self.globalShape = globalShape
        self.offsets = offsets
        self.bytes = bytes
    }

    /// The bytes a tensor of `shape` holds: every dimension ≥ 0, the product and the byte count
    /// computed without overflow.
    static func byteCount(of shape: [Int], element: Element, name: String) throws(CheckpointError) -> Int {
        if let negative = shape.first(where: { $0 < 0 }) {
            throw CheckpointError(.corrupt, "tensor \(name): shape \(shape) has a negative dimension (\(negative))")
        }
        var count = 1
        for dimension in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow else {
                throw CheckpointError(.corrupt, "tensor \(name): shape \(shape) has more elements than an Int can count")
            }
            count = product
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: element.size)
        guard !overflow else {
            throw CheckpointError(.corrupt, "tensor \(name): shape \(shape) of \(element.rawValue) has more bytes than "
                                  + "an Int can count")
        }
        return bytes
    }

    /// Checks that a block of `shape` at `offsets` lies inside `globalShape` (no overflow).
    static func checkBlock(shape: [Int], globalShape: [Int], offsets: [Int], name: String) throws(CheckpointError) {
        guard globalShape.count == shape.count, offsets.count == shape.count else {
            throw CheckpointError(.corrupt, "tensor \(name): block \(shape), offsets \(offsets) and global shape "
                                  + "\(globalShape) have different numbers of dimensions")
        }
        for k in shape.indices {
            let (end, overflow) = offsets[k].addingReportingOverflow(shape[k])
            guard offsets[k] >= 0, !overflow, end <= globalShape[k] else {
                throw CheckpointError(.corrupt, "tensor \(name): block \(shape) at \(offsets) does not fit \(globalShape)")
            }
        }
    }

    /// A `Float` tensor.
    public init(name: String, floats: [Float], shape: [Int], globalShape: [Int]? = nil,
                offsets: [Int]? = nil) throws(CheckpointError) {
        try self.init(name: name, element: .float32, shape: shape, globalShape: globalShape, offsets: offsets,
                      bytes: floats.withUnsafeBytes { Array($0) })
    }

    /// An `Int64` tensor (step counters, RNG state, data cursors).
    public init(name: String, int64s: [Int64], shape: [Int]? = nil) throws(CheckpointError) {
        try self.init(name: name, element: .int64, shape: shape ?? [int64s.count],
                      bytes: int64s.withUnsafeBytes { Array($0) })
    }

    /// The elements as `Float`s.
    ///
    /// - Throws: `CheckpointError.corrupt` when the tensor is not float32.
    public func floats() throws(CheckpointError) -> [Float] {
        try values(.float32, as: Float.self)
    }

    /// The elements as `Int64`s.
    public func int64s() throws(CheckpointError) -> [Int64] {
        try values(.int64, as: Int64.self)
    }

    private func values<T: BitwiseCopyable>(_ expected: Element, as: T.Type) throws(CheckpointError) -> [T] {
        guard element == expected else {
            throw CheckpointError(.corrupt, "tensor \(name) holds \(element.rawValue), not \(expected.rawValue)")
        }
        return bytes.withUnsafeBytes { raw in
            [T](unsafeUninitializedCapacity: raw.count / MemoryLayout<T>.stride) { buffer, count in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: raw)
                count = raw.count / MemoryLayout<T>.stride
            }
        }
    }
}
