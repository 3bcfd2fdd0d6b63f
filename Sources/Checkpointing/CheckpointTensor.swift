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
    /// - Throws: `CheckpointError.corrupt` when the byte count does not match the shape.
    public init(name: String, element: Element, shape: [Int], globalShape: [Int]? = nil, offsets: [Int]? = nil,
                bytes: [UInt8]) throws(CheckpointError) {
        let count = shape.reduce(1, *)
        guard shape.allSatisfy({ $0 >= 0 }), count * element.size == bytes.count else {
            throw CheckpointError(.corrupt, "tensor \(name): shape \(shape) of \(element.rawValue) needs "
                                  + "\(count * element.size) bytes, got \(bytes.count)")
        }
        if let globalShape, let offsets {
            guard globalShape.count == shape.count, offsets.count == shape.count,
                  zip(zip(offsets, shape), globalShape).allSatisfy({ $0.0 >= 0 && $0.0 + $0.1 <= $1 }) else {
                throw CheckpointError(.corrupt, "tensor \(name): block \(shape) at \(offsets) does not fit \(globalShape)")
            }
        }
        self.name = name
        self.element = element
        self.shape = shape
        self.globalShape = globalShape
        self.offsets = offsets
        self.bytes = bytes
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
