// Deterministic stand-ins for the CSPRNG behind core::RandomFill, so that the
// codec's tests know exactly which bytes it consumed. RandomFill is a plain
// function pointer, hence the state lives in globals reset by each test.
#pragma once

#include <cstddef>
#include <cstdint>

namespace insight_test {

struct FakeRandomState {
  uint64_t next_byte = 0;    // SequentialBytes: the next byte is next_byte mod 256
  uint64_t splitmix = 0;     // SplitMixBytes: the generator's state (the seed)
  long calls = 0;            // calls so far, failed ones included
  long fail_from_call = -1;  // the call (0-based) from which every call fails; -1: never
};

inline FakeRandomState g_fake_random;

inline void ResetFakeRandom(uint64_t seed = 0, long fail_from_call = -1) {
  g_fake_random = FakeRandomState{};
  g_fake_random.next_byte = seed;
  g_fake_random.splitmix = seed;
  g_fake_random.fail_from_call = fail_from_call;
}

inline bool FakeShouldFail() {
  long call = g_fake_random.calls++;
  return g_fake_random.fail_from_call >= 0 && call >= g_fake_random.fail_from_call;
}

// Bytes 0, 1, 2, ..., 255, 0, 1, ... continuing across calls (offset by the seed).
inline bool SequentialBytes(void* buf, size_t len) {
  if (FakeShouldFail()) return false;
  auto* out = static_cast<unsigned char*>(buf);
  for (size_t i = 0; i < len; i++) out[i] = static_cast<unsigned char>(g_fake_random.next_byte++);
  return true;
}

// SplitMix64 (Steele, Lea, Flood 2014): well mixed, reproducible from the seed.
inline bool SplitMixBytes(void* buf, size_t len) {
  if (FakeShouldFail()) return false;
  auto* out = static_cast<unsigned char*>(buf);
  for (size_t i = 0; i < len; i += 8) {
    uint64_t z = (g_fake_random.splitmix += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    for (size_t j = 0; j < 8 && i + j < len; j++)
      out[i + j] = static_cast<unsigned char>(z >> (8 * j));
  }
  return true;
}

inline bool AlwaysFails(void*, size_t) {
  g_fake_random.calls++;
  return false;
}

}  // namespace insight_test
