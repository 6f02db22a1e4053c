/*
 * A fake libnvidia-ml.so.1 for tests: the real pynvml code path runs against it.
 *
 * Configured by the text file named in $FAKE_NVML_CONFIG, re-read on every call so a
 * test can change readings between samples. One "key=value" per line:
 *
 *   init_error=<nvml code>            nvmlInitWithFlags returns this
 *   count=<n>                         number of GPUs (at most 16)
 *   gpu.<i>.name=<text>               gpu.<i>.uuid=<text>
 *   gpu.<i>.energy_mj=<n>             total energy counter, mJ
 *   gpu.<i>.util=<gpu %>:<mem %>
 *   gpu.<i>.proc=<pid>:<used bytes>   a running compute process (repeatable)
 *   gpu.<i>.sample=<pid>:<ts us>:<sm %>   a process utilisation sample (repeatable)
 *   gpu.<i>.accounting=<0|1>          accounting mode
 *   gpu.<i>.acct=<pid>:<gpu %>:<time ms>:<start us>:<running>   accounting stats
 *   error.<function>=<nvml code>      that function fails on every GPU
 *   error.<i>.<function>=<nvml code>  that function fails on GPU i only
 *
 * A function can be left out of the library entirely (NVML_ERROR_FUNCTION_NOT_FOUND in
 * pynvml) by compiling with -DOMIT_<function>.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_GPUS 16
#define MAX_ITEMS 64
#define MAX_ERRORS 64

typedef int nvmlReturn_t;
enum { OK = 0, E_UNINIT = 1, E_INVALID = 2, E_NOT_SUPPORTED = 3, E_NOT_FOUND = 6,
       E_INSUFFICIENT_SIZE = 7 };

typedef struct { unsigned int pid; unsigned long long used; unsigned int gi, ci; } proc_info_t;
typedef struct { unsigned int pid; unsigned long long ts; unsigned int sm, mem, enc, dec; } util_sample_t;
typedef struct { unsigned int gpu, memory; } utilization_t;
typedef struct { unsigned int gpuUtilization, memoryUtilization; unsigned long long maxMemoryUsage,
                 time, startTime; unsigned int isRunning; unsigned int reserved[5]; } acct_stats_t;

typedef struct {
    int index;
    char name[96], uuid[96];
    unsigned long long energy;
    unsigned int util_gpu, util_mem, accounting;
    int nproc, nsample, nacct;
    proc_info_t procs[MAX_ITEMS];
    util_sample_t samples[MAX_ITEMS];
    acct_stats_t acct[MAX_ITEMS];
    unsigned int acct_pid[MAX_ITEMS];
} gpu_t;

typedef struct { int gpu; char fn[96]; int code; } error_t_;

static gpu_t gpus[MAX_GPUS];
static int gpu_count, init_error, initialised, nerrors;
static error_t_ errors[MAX_ERRORS];

static void load(void) {
    const char *path = getenv("FAKE_NVML_CONFIG");
    FILE *f = path ? fopen(path, "r") : NULL;
    memset(gpus, 0, sizeof gpus);
    gpu_count = 0; init_error = 0; nerrors = 0;
    for (int i = 0; i < MAX_GPUS; i++) {
        gpus[i].index = i;
        snprintf(gpus[i].name, sizeof gpus[i].name, "Fake GPU %d", i);
        snprintf(gpus[i].uuid, sizeof gpus[i].uuid, "GPU-fake-%04d", i);
    }
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        char *eq = strchr(line, '=');
        if (!eq) continue;
        *eq = 0;
        const char *key = line, *val = eq + 1;
        int i;
        char rest[128];
        if (!strcmp(key, "init_error")) init_error = atoi(val);
        else if (!strcmp(key, "count")) gpu_count = atoi(val) > MAX_GPUS ? MAX_GPUS : atoi(val);
        else if (sscanf(key, "gpu.%d.%127s", &i, rest) == 2 && i >= 0 && i < MAX_GPUS) {
            gpu_t *g = &gpus[i];
            if (!strcmp(rest, "name")) snprintf(g->name, sizeof g->name, "%.95s", val);
            else if (!strcmp(rest, "uuid")) snprintf(g->uuid, sizeof g->uuid, "%.95s", val);
            else if (!strcmp(rest, "energy_mj")) g->energy = strtoull(val, NULL, 10);
            else if (!strcmp(rest, "util")) sscanf(val, "%u:%u", &g->util_gpu, &g->util_mem);
            else if (!strcmp(rest, "accounting")) g->accounting = (unsigned)atoi(val);
            else if (!strcmp(rest, "proc") && g->nproc < MAX_ITEMS) {
                proc_info_t *p = &g->procs[g->nproc];
                if (sscanf(val, "%u:%llu", &p->pid, &p->used) == 2) g->nproc++;
            } else if (!strcmp(rest, "sample") && g->nsample < MAX_ITEMS) {
                util_sample_t *s = &g->samples[g->nsample];
                if (sscanf(val, "%u:%llu:%u", &s->pid, &s->ts, &s->sm) == 3) g->nsample++;
            } else if (!strcmp(rest, "acct") && g->nacct < MAX_ITEMS) {
                acct_stats_t *a = &g->acct[g->nacct];
                if (sscanf(val, "%u:%u:%llu:%llu:%u", &g->acct_pid[g->nacct], &a->gpuUtilization,
                           &a->time, &a->startTime, &a->isRunning) == 5) g->nacct++;
            }
        } else if (!strncmp(key, "error.", 6) && nerrors < MAX_ERRORS) {
            error_t_ *e = &errors[nerrors];
            e->gpu = -1;
            if (sscanf(key + 6, "%d.%95s", &e->gpu, e->fn) != 2) {
                e->gpu = -1;
                snprintf(e->fn, sizeof e->fn, "%.95s", key + 6);
            }
            e->code = atoi(val);
            nerrors++;
        }
    }
    fclose(f);
}

static int injected(const char *fn, int gpu) {
    for (int k = 0; k < nerrors; k++)
        if (!strcmp(errors[k].fn, fn) && (errors[k].gpu < 0 || errors[k].gpu == gpu)) return errors[k].code;
    return 0;
}

/* Common prologue: reload config, check init, injected errors, and the handle. */
#define ENTER_LIB(fn) do { load(); if (!initialised) return E_UNINIT; \
    int _e = injected(fn, -2); if (_e) return _e; } while (0)
#define ENTER_GPU(fn, h) do { load(); if (!initialised) return E_UNINIT; \
    if (!(h) || (h)->index >= gpu_count) return E_INVALID; \
    int _e = injected(fn, (h)->index); if (_e) return _e; } while (0)

#ifndef OMIT_nvmlInitWithFlags
nvmlReturn_t nvmlInitWithFlags(unsigned int flags) {
    (void)flags; load();
    if (init_error) return init_error;
    initialised = 1; return OK;
}
#endif
nvmlReturn_t nvmlInit_v2(void) { load(); if (init_error) return init_error; initialised = 1; return OK; }
nvmlReturn_t nvmlShutdown(void) { if (!initialised) return E_UNINIT; initialised = 0; return OK; }

const char *nvmlErrorString(nvmlReturn_t r) {
    switch (r) {
    case 0: return "Success";
    case 1: return "Uninitialized";
    case 2: return "Invalid Argument";
    case 3: return "Not Supported";
    case 4: return "Insufficient Permissions";
    case 6: return "Not Found";
    case 9: return "Driver Not Loaded";
    case 13: return "Function Not Found";
    case 15: return "GPU is lost";
    default: return "Unknown Error";
    }
}

nvmlReturn_t nvmlSystemGetDriverVersion(char *buf, unsigned int len) {
    ENTER_LIB("nvmlSystemGetDriverVersion");
    snprintf(buf, len, "999.99-fake"); return OK;
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count) {
    ENTER_LIB("nvmlDeviceGetCount_v2");
    *count = (unsigned)gpu_count; return OK;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, gpu_t **h) {
    load(); if (!initialised) return E_UNINIT;
    if (index >= (unsigned)gpu_count) return E_INVALID;
    int e = injected("nvmlDeviceGetHandleByIndex_v2", (int)index); if (e) return e;
    *h = &gpus[index]; return OK;
}

#ifndef OMIT_nvmlDeviceGetName
nvmlReturn_t nvmlDeviceGetName(gpu_t *h, char *buf, unsigned int len) {
    ENTER_GPU("nvmlDeviceGetName", h); snprintf(buf, len, "%s", h->name); return OK;
}
#endif

#ifndef OMIT_nvmlDeviceGetUUID
nvmlReturn_t nvmlDeviceGetUUID(gpu_t *h, char *buf, unsigned int len) {
    ENTER_GPU("nvmlDeviceGetUUID", h); snprintf(buf, len, "%s", h->uuid); return OK;
}
#endif

#ifndef OMIT_nvmlDeviceGetTotalEnergyConsumption
nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(gpu_t *h, unsigned long long *mj) {
    ENTER_GPU("nvmlDeviceGetTotalEnergyConsumption", h); *mj = h->energy; return OK;
}
#endif

#ifndef OMIT_nvmlDeviceGetUtilizationRates
nvmlReturn_t nvmlDeviceGetUtilizationRates(gpu_t *h, utilization_t *u) {
    ENTER_GPU("nvmlDeviceGetUtilizationRates", h);
    u->gpu = h->util_gpu; u->memory = h->util_mem; return OK;
}
#endif

#ifndef OMIT_nvmlDeviceGetComputeRunningProcesses_v3
nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(gpu_t *h, unsigned int *count, proc_info_t *out) {
    ENTER_GPU("nvmlDeviceGetComputeRunningProcesses_v3", h);
    if (h->nproc == 0) { *count = 0; return OK; }
    if (!out || *count < (unsigned)h->nproc) { *count = (unsigned)h->nproc; return E_INSUFFICIENT_SIZE; }
    memcpy(out, h->procs, sizeof(proc_info_t) * (size_t)h->nproc);
    *count = (unsigned)h->nproc; return OK;
}
#endif

#ifndef OMIT_nvmlDeviceGetProcessUtilization
nvmlReturn_t nvmlDeviceGetProcessUtilization(gpu_t *h, util_sample_t *out, unsigned int *count,
                                             unsigned long long last_seen) {
    ENTER_GPU("nvmlDeviceGetProcessUtilization", h);
    unsigned int n = 0;
    for (int k = 0; k < h->nsample; k++) if (h->samples[k].ts > last_seen) n++;
    if (n == 0) { *count = 0; return E_NOT_FOUND; }  /* what real NVML says: no samples */
    if (!out || *count < n) { *count = n; return E_INSUFFICIENT_SIZE; }
    unsigned int j = 0;
    for (int k = 0; k < h->nsample; k++) if (h->samples[k].ts > last_seen) out[j++] = h->samples[k];
    *count = n; return OK;
}
#endif

#ifndef OMIT_nvmlDeviceGetAccountingMode
nvmlReturn_t nvmlDeviceGetAccountingMode(gpu_t *h, unsigned int *mode) {
    ENTER_GPU("nvmlDeviceGetAccountingMode", h); *mode = h->accounting; return OK;
}
#endif

#ifndef OMIT_nvmlDeviceGetAccountingStats
nvmlReturn_t nvmlDeviceGetAccountingStats(gpu_t *h, unsigned int pid, acct_stats_t *st) {
    ENTER_GPU("nvmlDeviceGetAccountingStats", h);
    if (!h->accounting) return E_NOT_SUPPORTED;
    for (int k = 0; k < h->nacct; k++)
        if (h->acct_pid[k] == pid) { *st = h->acct[k]; return OK; }
    return E_NOT_FOUND;
}
#endif
