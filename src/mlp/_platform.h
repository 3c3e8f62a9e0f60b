/* mlp/_platform.h: what differs between the C compilers the kernels are built with (GCC,
 * Clang, MSVC), so that every other header is the same C for all of them.
 *
 *   MLPK_RESTRICT        C99's restrict (MSVC's C compiler, and C++, spell it __restrict)
 *   MLPK_ALWAYS_INLINE   "static inline", inlined even where the compiler would not
 *   MLPK_X86_DISPATCH    1 where the kernels can be compiled for several x86-64 instruction
 *                        sets in one binary and the CPU asked at run time which it has
 *                        (_levels.h), else 0
 *   MLPK_TARGET(isa)     the per-function target attribute: this function may use the
 *                        instruction sets in the string isa ("avx2,fma"); nothing where
 *                        MLPK_X86_DISPATCH is 0
 *   MLPK_CPU_SUPPORTS(f) whether the running CPU (and OS) has the feature f ("avx2"); only
 *                        where MLPK_X86_DISPATCH is 1
 *   MLPK_PREFETCH(p)     ask for the cache line at p to be read in; nothing where the
 *                        compiler has no prefetch built-in
 *
 * Runtime dispatch needs GCC >= 12 or Clang >= 14 (the compilers the per-level builds were
 * measured with) on x86-64, outside Windows: Windows builds are MSVC's, which has no
 * per-function target attribute, and GCC for Windows (MinGW, Cygwin) does not realign the
 * stack for spilled AVX registers. ifuncs (target_clones) are not used: musl's loader
 * refuses them. Private to _core.pyx (the mlpk_ prefix): not part of mlp's C API.
 */
#ifndef MLPK_PLATFORM_H
#define MLPK_PLATFORM_H

#if defined(_MSC_VER) || defined(__cplusplus)
#define MLPK_RESTRICT __restrict
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 199901L
#define MLPK_RESTRICT restrict
#else
#define MLPK_RESTRICT
#endif

#if defined(_MSC_VER) && !defined(__clang__)
#define MLPK_ALWAYS_INLINE static __forceinline
#elif defined(__GNUC__) || defined(__clang__)
#define MLPK_ALWAYS_INLINE static inline __attribute__((always_inline))
#else
#define MLPK_ALWAYS_INLINE static inline
#endif

#if defined(__x86_64__) && !defined(_WIN32) && !defined(__CYGWIN__) && \
    !defined(_MSC_VER) && \
    ((defined(__clang__) && __clang_major__ >= 14) || \
     (!defined(__clang__) && defined(__GNUC__) && __GNUC__ >= 12))
#define MLPK_X86_DISPATCH 1
#define MLPK_TARGET(isa) __attribute__((target(isa)))
#define MLPK_CPU_SUPPORTS(feature) __builtin_cpu_supports(feature)
#else
#define MLPK_X86_DISPATCH 0
#define MLPK_TARGET(isa)
#endif

#if defined(__GNUC__) || defined(__clang__)
#define MLPK_PREFETCH(p) __builtin_prefetch((p), 0, 3)
#else
#define MLPK_PREFETCH(p) ((void)(p))
#endif

#endif /* MLPK_PLATFORM_H */
