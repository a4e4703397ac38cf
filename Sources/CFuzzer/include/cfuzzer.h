#ifndef CFUZZER_H
#define CFUZZER_H
#include <stddef.h>
#include <stdint.h>

// libFuzzer's entry point for a program with its own main (libclang_rt.fuzzer_no_main, linked
// only by `make fuzz`; the ordinary build never calls it, so never needs it).
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
