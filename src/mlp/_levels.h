/* mlp/_levels.h: the kernel levels, which of them the CPU can run, the one in use, and how a
 * loop is compiled once per level.
 *
 * A level is an x86-64 instruction set, lowest first: "generic" (baseline x86-64: SSE2,
 * and whatever the build's flags allow elsewhere), "avx2" (+ AVX2 and FMA) and "avx512"
 * (+ AVX-512 F, BW, DQ and VL). Each level's features include those of every level below
 * it, so a CPU can run every level up to its best. At each level the loops of _simd.h and
 * _activations.h run their version compiled for that instruction set (MLPK_LOOP, below),
 * and the chooser (_kernels.h) adds the level's hand-written kernels where the build has
 * them (_avx512.h); at "avx2" it makes the generic level's choices. So MLP_KERNELS=generic
 * runs exactly what a baseline x86-64 CPU runs, and MLP_KERNELS=avx2 what an AVX2 one does.
 *
 * The level in use is decided once, when mlp._core is imported: the best this build and the
 * CPU support (mlpk_best_level), or the lower one named by the environment variable
 * MLP_KERNELS, so that the tests can run every level the machine has. Builds without
 * runtime dispatch (_platform.h: MSVC, other architectures) have the generic level only.
 *
 * Private to _core.pyx (the mlpk_ prefix): not part of mlp's C API (_core.pxd).
 */
#ifndef MLPK_LEVELS_H
#define MLPK_LEVELS_H

#include "_platform.h"

typedef enum {
    MLPK_LEVEL_GENERIC = 0,     /* baseline x86-64 (or the build's own flags): any CPU */
    MLPK_LEVEL_AVX2 = 1,        /* + AVX2, FMA */
    MLPK_LEVEL_AVX512 = 2,      /* + AVX-512 F, BW, DQ, VL */
    MLPK_N_LEVELS
} mlpk_level;

/* What each level's functions are compiled for: exactly the features that mlpk_best_level
 * checks for it, so that no instruction runs that the CPU was not asked about. */
#define MLPK_TARGET_AVX2 MLPK_TARGET("avx2,fma")
#define MLPK_TARGET_AVX512 MLPK_TARGET("avx2,fma,avx512f,avx512bw,avx512dq,avx512vl")

/* The level's name, as MLP_KERNELS and mlp.kernel_level() spell it; NULL for no level. */
static inline const char *mlpk_level_name(int level)
{
    static const char *const names[MLPK_N_LEVELS] = {"generic", "avx2", "avx512"};
    return level >= 0 && level < MLPK_N_LEVELS ? names[level] : NULL;
}

/* The best level this build and the running CPU support. __builtin_cpu_supports also
 * checks that the OS saves the AVX and AVX-512 registers. */
static inline int mlpk_best_level(void)
{
#if MLPK_X86_DISPATCH
    const int avx2 = MLPK_CPU_SUPPORTS("avx2") && MLPK_CPU_SUPPORTS("fma");
    if (avx2 && MLPK_CPU_SUPPORTS("avx512f") && MLPK_CPU_SUPPORTS("avx512bw") &&
        MLPK_CPU_SUPPORTS("avx512dq") && MLPK_CPU_SUPPORTS("avx512vl"))
        return MLPK_LEVEL_AVX512;
    if (avx2)
        return MLPK_LEVEL_AVX2;
#endif
    return MLPK_LEVEL_GENERIC;
}

/* The level the loops and the choosers use. Written once, by mlpk_set_level from
 * mlp._core's module init, before any kernel can run, and never after (mlpk_set_level
 * refuses a second write): the kernels only read it, so calls from any number of threads
 * agree. */
static int mlpk_level_in_use = MLPK_LEVEL_GENERIC;
static int mlpk_level_written = 0;

/* Set the level in use: 0; or -1, changing nothing, for a level this build and CPU cannot
 * run, or when it has been set already. */
static int mlpk_set_level(int level)
{
    if (mlpk_level_written || level < MLPK_LEVEL_GENERIC || level > mlpk_best_level())
        return -1;
    mlpk_level_in_use = level;
    mlpk_level_written = 1;
    return 0;
}

static inline int mlpk_current_level(void)
{
    return mlpk_level_in_use;
}

/* MLPK_LOOP(name, params, args), written where a function's return type and name would be
 * and followed by its body, defines the loop `void name params` compiled once per level:
 * the body becomes name##_body (always inlined), name##_generic, name##_avx2 and
 * name##_avx512 are it compiled with each level's target attribute (the compiler
 * vectorizes each for its instruction set), and name itself calls the version of the level
 * in use. args are the parameters' names, in order. MLPK_VALUE_LOOP(type, name, params,
 * args) is the same for a loop that returns a type. Without runtime dispatch both are a
 * plain static function. */
#if MLPK_X86_DISPATCH
#define MLPK_PER_LEVEL(type, ret, name, params, args) \
    MLPK_ALWAYS_INLINE type name##_body params; \
    static type name##_generic params { ret name##_body args; } \
    MLPK_TARGET_AVX2 static type name##_avx2 params { ret name##_body args; } \
    MLPK_TARGET_AVX512 static type name##_avx512 params { ret name##_body args; } \
    static inline type name params \
    { \
        if (mlpk_level_in_use >= MLPK_LEVEL_AVX512) \
            ret name##_avx512 args; \
        else if (mlpk_level_in_use >= MLPK_LEVEL_AVX2) \
            ret name##_avx2 args; \
        else \
            ret name##_generic args; \
    } \
    MLPK_ALWAYS_INLINE type name##_body params
#define MLPK_LOOP(name, params, args) MLPK_PER_LEVEL(void, , name, params, args)
#define MLPK_VALUE_LOOP(type, name, params, args) \
    MLPK_PER_LEVEL(type, return, name, params, args)
#else
#define MLPK_LOOP(name, params, args) static void name params
#define MLPK_VALUE_LOOP(type, name, params, args) static type name params
#endif

#endif /* MLPK_LEVELS_H */
