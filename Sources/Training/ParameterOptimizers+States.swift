import DionDistributed
import Optimizers

/// The states of the parameters one optimizer steps, in slot order: `states[k]` belongs to slot
/// `slots[k]`. A batched step takes `states` `inout`, so every buffer is updated in place.
public struct StateGroup<State: Sendable>: Sendable {
    /// The slots (indices into `ParameterOptimizers.slots` and the shards) of the states, ascending.
    public private(set) var slots: [Int] = []
    /// One state per slot in `slots`.
    public var states: [State] = []

    /// Adds the state of `slot` (after every slot added before) and returns where it is.
    mutating func append(_ state: State, slot: Int, at location: (Int) -> StateLocation) -> StateLocation {
        slots.append(slot)
        states.append(state)
        return location(states.count - 1)
    }
}

/// Where a slot's state is: the group and the index in it.
enum StateLocation: Sendable, Hashable {
    case dion(Int), muon(Int), selective(Int), matrixAdamW(Int), scalarAdamW(Int)
}

/// Something done to one optimizer state whatever its type (checkpoint save and restore).
protocol StateVisitor {
    /// Called with the state, which it may replace.
    mutating func visit<State: CheckpointedState>(_ state: inout State) throws
}

extension ParameterOptimizers {
    /// Calls `visitor` with slot `i`'s state, `inout`: the one place that maps a slot to its
    /// typed state, so the checkpoint code is written once for every optimizer.
    mutating func visitState<Visitor: StateVisitor>(ofSlot i: Int, _ visitor: inout Visitor) throws {
        switch locations[i] {
        case .dion(let k): try visitor.visit(&dionStates.states[k])
        case .muon(let k): try visitor.visit(&muonStates.states[k])
        case .selective(let k): try visitor.visit(&selectiveStates.states[k])
        case .matrixAdamW(let k): try visitor.visit(&matrixAdamWStates.states[k])
        case .scalarAdamW(let k): try visitor.visit(&scalarAdamWStates.states[k])
        }
    }

    /// Slot `i`'s state (read only).
    func state(ofSlot i: Int) -> any CheckpointedState {
        switch locations[i] {
        case .dion(let k): dionStates.states[k]
        case .muon(let k): muonStates.states[k]
        case .selective(let k): selectiveStates.states[k]
        case .matrixAdamW(let k): matrixAdamWStates.states[k]
        case .scalarAdamW(let k): scalarAdamWStates.states[k]
        }
    }
}
