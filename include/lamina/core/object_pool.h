#pragma once
// Recycled memory for the small objects every op creates (TensorImpl, Storage and their
// shared_ptr control blocks): a freed block waits in a per-size free list and serves the next
// allocation of that size, so an op on tiny tensors pays a few instructions instead of a
// malloc/free pair for each object.
#include <atomic>
#include <cstddef>
#include <new>

namespace lamina {

/// Free list of blocks of `Size` bytes (aligned to `Align`), shared by all threads.
template <size_t Size, size_t Align>
class BlockPool {
 public:
  /// A block: recycled when one is free, else from operator new.
  static void* allocate() {
    if constexpr (kBypass) return ::operator new(kBlock, std::align_val_t(kAlign));
    Lists& l = lists();
    l.lock();
    if (Node* n = l.head) {
      l.head = n->next;
      --l.count;
      l.unlock();
      return n;
    }
    l.unlock();
    return ::operator new(kBlock, std::align_val_t(kAlign));
  }
  /// Returns a block from allocate(); kept for reuse up to kMaxCached blocks.
  static void deallocate(void* p) {
    if constexpr (kBypass) {
      ::operator delete(p, std::align_val_t(kAlign));
      return;
    }
    Lists& l = lists();
    l.lock();
    if (l.count < kMaxCached) {
      Node* n = static_cast<Node*>(p);
      n->next = l.head;
      l.head = n;
      ++l.count;
      l.unlock();
      return;
    }
    l.unlock();
    ::operator delete(p, std::align_val_t(kAlign));
  }

 private:
  struct Node {
    Node* next;
  };
  static constexpr size_t kBlock = Size < sizeof(Node) ? sizeof(Node) : Size;
  static constexpr size_t kAlign = Align < alignof(Node) ? alignof(Node) : Align;
  static constexpr int kMaxCached = 4096;
#if defined(__SANITIZE_ADDRESS__)
  static constexpr bool kBypass = true;  // let AddressSanitizer see every use after free
#else
  static constexpr bool kBypass = false;
#endif
  struct Lists {
    std::atomic<bool> busy{false};
    Node* head = nullptr;
    int count = 0;
    void lock() {
      while (busy.exchange(true, std::memory_order_acquire)) {
        while (busy.load(std::memory_order_relaxed)) {
        }
      }
    }
    void unlock() { busy.store(false, std::memory_order_release); }
  };
  static Lists& lists() {
    static Lists* l = new Lists();  // never destroyed: objects may be freed during exit
    return *l;
  }
};

/// A std allocator over BlockPool, for std::allocate_shared.
template <class T>
struct PoolAllocator {
  using value_type = T;
  PoolAllocator() = default;
  template <class U>
  PoolAllocator(const PoolAllocator<U>&) {}
  /// One object from the pool (arrays fall back to operator new).
  T* allocate(size_t n) {
    if (n == 1) return static_cast<T*>(BlockPool<sizeof(T), alignof(T)>::allocate());
    return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(alignof(T))));
  }
  /// Gives the memory back.
  void deallocate(T* p, size_t n) {
    if (n == 1) {
      BlockPool<sizeof(T), alignof(T)>::deallocate(p);
      return;
    }
    ::operator delete(p, std::align_val_t(alignof(T)));
  }
  template <class U>
  bool operator==(const PoolAllocator<U>&) const {
    return true;
  }
};

}  // namespace lamina
