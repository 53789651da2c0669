#include "lamina/runtime/device_allocator.h"

#include <algorithm>
#include <cstdio>

#include "lamina/core/error.h"

namespace lamina::runtime {

struct CachingDeviceAllocator::Block {
  char* ptr = nullptr;
  size_t size = 0;
  StreamId stream = 0;
  bool allocated = false;
  bool small = false;
  int pending_events = 0;         // events a freed block still waits on
  std::vector<StreamId> uses;     // other streams the block was used on (record_stream)
  Block* prev = nullptr;  // neighbours within the segment (address order)
  Block* next = nullptr;
};

bool CachingDeviceAllocator::BySize::operator()(const Block* a, const Block* b) const {
  if (a->stream != b->stream) return a->stream < b->stream;
  if (a->size != b->size) return a->size < b->size;
  return a->ptr < b->ptr;
}

namespace {

size_t round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

std::string human(size_t bytes) {
  char buf[32];
  if (bytes >= (size_t{1} << 30))
    std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(bytes) / (1 << 30));
  else if (bytes >= (size_t{1} << 20))
    std::snprintf(buf, sizeof buf, "%.2f MiB", static_cast<double>(bytes) / (1 << 20));
  else
    std::snprintf(buf, sizeof buf, "%zu bytes", bytes);
  return buf;
}

}  // namespace

CachingDeviceAllocator::CachingDeviceAllocator(std::unique_ptr<DeviceMemorySource> source, std::string device)
    : source_(std::move(source)), device_(std::move(device)) {}

CachingDeviceAllocator::~CachingDeviceAllocator() {
  for (auto& [event, block] : pending_) source_->destroy_event(event);
  for (Block* head : segments_) {
    char* base = head->ptr;
    size_t total = 0;
    for (Block* b = head; b;) {
      total += b->size;
      Block* next = b->next;
      delete b;
      b = next;
    }
    source_->release(base, total);
  }
}

CachingDeviceAllocator::FreeSet& CachingDeviceAllocator::pool_of(const Block* b) {
  return b->small ? small_free_ : large_free_;
}

CachingDeviceAllocator::Block* CachingDeviceAllocator::find_free(FreeSet& pool, size_t size, StreamId stream) {
  Block key;
  key.stream = stream;
  key.size = size;
  auto it = pool.lower_bound(&key);
  if (it == pool.end() || (*it)->stream != stream) return nullptr;
  Block* b = *it;
  pool.erase(it);
  return b;
}

CachingDeviceAllocator::Block* CachingDeviceAllocator::new_segment(size_t segment_size, size_t request, StreamId stream,
                                                                   bool small) {
  void* raw = source_->allocate(segment_size);
  if (!raw) {
    // Cached segments nobody uses may be what the device is missing: give them back, retry once.
    // Blocks waiting on other streams' work count too, so wait for that work first.
    if (!pending_.empty()) process_events(true);
    release_free_segments();
    raw = source_->allocate(segment_size);
  }
  if (!raw) {
    ++stats_.out_of_memory;
    const auto [free_bytes, total_bytes] = source_->memory_info();
    LAMINA_THROW(OutOfMemoryError, "allocate", device_, " is out of memory: tried to allocate ", human(request),
                 " (a segment of ", human(segment_size), "); lamina holds ", human(stats_.allocated), " allocated in ",
                 human(stats_.reserved), " reserved; the device has ", human(free_bytes), " free of ",
                 human(total_bytes), ". Free tensors or call lamina.cuda.empty_cache(), or use a smaller batch.");
  }
  auto* head = new Block;
  head->ptr = static_cast<char*>(raw);
  head->size = segment_size;
  head->stream = stream;
  head->small = small;
  segments_.insert(head);
  ++stats_.segments;
  stats_.reserved += segment_size;
  stats_.peak_reserved = std::max(stats_.peak_reserved, stats_.reserved);
  return head;
}

void* CachingDeviceAllocator::allocate(size_t bytes, StreamId stream) {
  if (bytes == 0) return nullptr;
  const size_t size = round_up(bytes, kAlignment);
  const bool small = size <= kSmallSize;
  std::lock_guard<std::mutex> lock(mutex_);
  if (!pending_.empty()) process_events(false);
  FreeSet& pool = small ? small_free_ : large_free_;
  Block* block = find_free(pool, size, stream);
  if (block) {
    ++stats_.cache_hits;
  } else {
    block = new_segment(small ? kSmallSegment : round_up(size, kLargeRound), bytes, stream, small);
  }
  // Split off the rest when it is worth keeping: any rest in the small pool, more than a small
  // block's worth in the large one (smaller rests would only fragment the large pool).
  const size_t rest = block->size - size;
  if (rest >= (small ? kAlignment : kSmallSize + 1)) {
    auto* tail = new Block;
    tail->ptr = block->ptr + size;
    tail->size = rest;
    tail->stream = block->stream;
    tail->small = block->small;
    tail->prev = block;
    tail->next = block->next;
    if (block->next) block->next->prev = tail;
    block->next = tail;
    block->size = size;
    pool.insert(tail);
  }
  block->allocated = true;
  active_.emplace(block->ptr, block);
  ++stats_.allocations;
  stats_.allocated += block->size;
  stats_.peak_allocated = std::max(stats_.peak_allocated, stats_.allocated);
  return block->ptr;
}

void CachingDeviceAllocator::free(void* ptr) {
  if (!ptr) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = active_.find(ptr);
  LAMINA_CHECK(it != active_.end(), ValueError, "free", device_, ": pointer was not allocated by this allocator");
  Block* block = it->second;
  active_.erase(it);
  ++stats_.frees;
  if (block->uses.empty()) {
    free_block(block);
    return;
  }
  // Work queued on the other streams may still read or write the block: it becomes reusable
  // only once an event recorded on each of them now has completed.
  for (StreamId s : block->uses) {
    pending_.emplace_back(source_->record_event(s), block);
    ++block->pending_events;
  }
  block->uses.clear();
  ++stats_.pending_frees;
}

void CachingDeviceAllocator::free_block(Block* block) {
  block->allocated = false;
  stats_.allocated -= block->size;
  FreeSet& pool = pool_of(block);
  if (Block* next = block->next; next && !next->allocated) {
    pool.erase(next);
    block->size += next->size;
    block->next = next->next;
    if (next->next) next->next->prev = block;
    delete next;
  }
  if (Block* prev = block->prev; prev && !prev->allocated) {
    pool.erase(prev);
    prev->size += block->size;
    prev->next = block->next;
    if (block->next) block->next->prev = prev;
    delete block;
    block = prev;
  }
  pool.insert(block);
}

void CachingDeviceAllocator::process_events(bool wait) {
  size_t kept = 0;
  for (auto& [event, block] : pending_) {
    if (wait) source_->wait_event(event);
    if (!wait && !source_->event_done(event)) {
      pending_[kept++] = {event, block};
      continue;
    }
    source_->destroy_event(event);
    if (--block->pending_events == 0) {
      --stats_.pending_frees;
      free_block(block);
    }
  }
  pending_.resize(kept);
}

void CachingDeviceAllocator::record_stream(void* ptr, StreamId stream) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = active_.find(ptr);
  LAMINA_CHECK(it != active_.end(), ValueError, "record_stream", device_,
               ": pointer was not allocated by this allocator");
  Block* block = it->second;
  if (stream == block->stream) return;
  if (std::find(block->uses.begin(), block->uses.end(), stream) == block->uses.end()) block->uses.push_back(stream);
}

StreamId CachingDeviceAllocator::block_stream(const void* ptr) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = active_.find(ptr);
  LAMINA_CHECK(it != active_.end(), ValueError, "block_stream", device_,
               ": pointer was not allocated by this allocator");
  return it->second->stream;
}

bool CachingDeviceAllocator::owns(const void* ptr) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return active_.count(ptr) != 0;
}

void CachingDeviceAllocator::release_free_segments() {
  for (auto it = segments_.begin(); it != segments_.end();) {
    Block* head = *it;
    if (head->allocated || head->next) {  // some block of the segment is in use
      ++it;
      continue;
    }
    pool_of(head).erase(head);
    source_->release(head->ptr, head->size);
    stats_.reserved -= head->size;
    --stats_.segments;
    delete head;
    it = segments_.erase(it);
  }
}

void CachingDeviceAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!pending_.empty()) process_events(true);
  release_free_segments();
}

DeviceMemoryStats CachingDeviceAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void CachingDeviceAllocator::reset_peak_stats() {
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.peak_allocated = stats_.allocated;
  stats_.peak_reserved = stats_.reserved;
}

size_t CachingDeviceAllocator::block_size(const void* ptr) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = active_.find(ptr);
  LAMINA_CHECK(it != active_.end(), ValueError, "block_size", device_, ": pointer was not allocated by this allocator");
  return it->second->size;
}

}  // namespace lamina::runtime
