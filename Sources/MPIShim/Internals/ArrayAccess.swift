// Typed-throws bridges over Array's rethrowing pointer accessors, so that collective
// implementations can be written once on buffer pointers.

extension Array {
    @inline(__always)
    func withBuffer<R>(_ body: (UnsafeBufferPointer<Element>) throws(MPIError) -> R) throws(MPIError) -> R {
        let result: Result<R, MPIError> = withUnsafeBufferPointer { pointer in
            Result { () throws(MPIError) -> R in try body(pointer) }
        }
        return try result.get()
    }

    @inline(__always)
    mutating func withMutableBuffer<R>(_ body: (UnsafeMutableBufferPointer<Element>) throws(MPIError) -> R) throws(MPIError) -> R {
        let result: Result<R, MPIError> = withUnsafeMutableBufferPointer { pointer in
            Result { () throws(MPIError) -> R in try body(pointer) }
        }
        return try result.get()
    }

    /// An array of `count` elements written by `body`, which must initialize all of them
    /// (the elements are plain bits, so nothing leaks if it throws first).
    @inline(__always)
    static func filled(count: Int,
                       _ body: (UnsafeMutableBufferPointer<Element>) throws(MPIError) -> Void) throws(MPIError) -> [Element]
    where Element: BitwiseCopyable {
        var failure: MPIError?
        let array = [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
            do throws(MPIError) {
                try body(buffer)
                initialized = count
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        return array
    }
}

/// A placeholder address for zero-length buffers: MPI accepts any pointer with a count of 0,
/// but Open MPI's argument checks reject some null-pointer combinations. Never read or written.
struct ZeroLengthScratch: @unchecked Sendable {  // an immutable address, never dereferenced
    let pointer = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64)
}
let zeroLengthScratch = ZeroLengthScratch()

@inline(__always)
func address<T>(_ buffer: UnsafeBufferPointer<T>) -> UnsafeRawPointer? {
    buffer.baseAddress.map(UnsafeRawPointer.init) ?? UnsafeRawPointer(zeroLengthScratch.pointer)
}

@inline(__always)
func address<T>(_ buffer: UnsafeMutableBufferPointer<T>) -> UnsafeMutableRawPointer? {
    buffer.baseAddress.map(UnsafeMutableRawPointer.init) ?? zeroLengthScratch.pointer
}
