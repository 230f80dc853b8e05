/* CPU feature detection. Compiled without any ISA flags and without LTO, so
 * nothing here can execute an instruction the CPU might lack.
 *
 * x86-64: cpuid says what the CPU implements; xgetbv(XCR0) says which
 * register state the OS saves on context switches. AVX needs XMM|YMM state
 * (bits 1, 2), AVX-512 additionally opmask, ZMM_Hi256 and Hi16_ZMM (bits 5-7).
 * AArch64: Advanced SIMD is architectural; getauxval(AT_HWCAP) confirms it. */
#include "cpu_internal.h"

#include <stdio.h>
#include <string.h>

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>

static unsigned long long read_xcr0(void) {
    unsigned int eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

static void trim(char *s) {
    size_t n = strlen(s), b = 0;
    while (b < n && s[b] == ' ') b++;
    memmove(s, s + b, n - b + 1);
    n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\0')) s[--n] = '\0';
}

void cpu_detect(nerve_cpu_features *f) {
    unsigned int a, b, c, d, max_leaf;
    memset(f, 0, sizeof *f);
    if (!__get_cpuid(0, &max_leaf, &b, &c, &d)) return;
    memcpy(f->vendor + 0, &b, 4);
    memcpy(f->vendor + 4, &d, 4);
    memcpy(f->vendor + 8, &c, 4);
    f->vendor[12] = '\0';

    __cpuid(1, a, b, c, d);
    bool osxsave = (c >> 27) & 1;
    f->sse42 = (c >> 20) & 1;
    f->fma = (c >> 12) & 1;
    f->avx = (c >> 28) & 1;
    if (osxsave) {
        unsigned long long xcr0 = read_xcr0();
        f->os_ymm = (xcr0 & 0x6) == 0x6;
        f->os_zmm = f->os_ymm && (xcr0 & 0xE0) == 0xE0;
    }
    if (max_leaf >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        f->avx2 = (b >> 5) & 1;
        f->avx512f = (b >> 16) & 1;
        f->avx512dq = (b >> 17) & 1;
        f->avx512bw = (b >> 30) & 1;
        f->avx512vl = (b >> 31) & 1;
        f->avx512_vnni = (c >> 11) & 1;
        unsigned int max_sub = a;
        if (max_sub >= 1) {
            __cpuid_count(7, 1, a, b, c, d);
            f->avx_vnni = (a >> 4) & 1;
            f->avx512_bf16 = (a >> 5) & 1;
        }
    }
    unsigned int max_ext = __get_cpuid_max(0x80000000u, NULL);
    if (max_ext >= 0x80000004u) {
        unsigned int regs[12];
        for (unsigned int i = 0; i < 3; i++)
            __cpuid(0x80000002u + i, regs[4 * i], regs[4 * i + 1], regs[4 * i + 2],
                    regs[4 * i + 3]);
        memcpy(f->model, regs, 48);
        f->model[48] = '\0';
        trim(f->model);
    }
}

bool cpu_can_run(const nerve_cpu_features *f, nerve_isa isa) {
    switch (isa) {
    case NERVE_ISA_SCALAR:
        return true;
    case NERVE_ISA_AVX2:
        return f->avx && f->avx2 && f->fma && f->os_ymm;
    case NERVE_ISA_AVX512:
        return cpu_can_run(f, NERVE_ISA_AVX2) && f->avx512f && f->avx512bw && f->avx512dq &&
               f->avx512vl && f->os_zmm;
    default:
        return false;
    }
}

#elif defined(__aarch64__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1 << 1)
#endif
#ifndef HWCAP_ASIMDHP
#define HWCAP_ASIMDHP (1 << 10)
#endif

void cpu_detect(nerve_cpu_features *f) {
    memset(f, 0, sizeof *f);
    unsigned long hw = getauxval(AT_HWCAP);
    f->neon = (hw & HWCAP_ASIMD) != 0;
    f->asimd_fp16 = (hw & HWCAP_ASIMDHP) != 0;
    strcpy(f->vendor, "arm64");
    FILE *fp = fopen("/proc/cpuinfo", "r");
    if (fp) {
        char line[256];
        while (fgets(line, sizeof line, fp)) {
            if (strncmp(line, "CPU part", 8) == 0 && f->model[0] == '\0') {
                const char *v = strchr(line, ':');
                if (v) snprintf(f->model, sizeof f->model, "CPU part%s", v + 1);
                f->model[strcspn(f->model, "\n")] = '\0';
            }
        }
        fclose(fp);
    }
}

bool cpu_can_run(const nerve_cpu_features *f, nerve_isa isa) {
    switch (isa) {
    case NERVE_ISA_SCALAR:
        return true;
    case NERVE_ISA_NEON:
        return f->neon;
    default:
        return false;
    }
}

#else
void cpu_detect(nerve_cpu_features *f) {
    memset(f, 0, sizeof *f);
    strcpy(f->vendor, "unknown");
}
bool cpu_can_run(const nerve_cpu_features *f, nerve_isa isa) {
    (void)f;
    return isa == NERVE_ISA_SCALAR;
}
#endif
