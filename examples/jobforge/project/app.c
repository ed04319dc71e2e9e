/* The project under test: a tiny static program the pipeline builds into a FROM scratch image.
 *   app --version    prints its name and version
 *   app selftest     checks itself, prints "selftest ok", exits 0
 *   app fail         a failing check: a message on stderr, exit 3 */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
  const char *cmd = argc > 1 ? argv[1] : "--version";
  if (strcmp(cmd, "--version") == 0) {
    printf("myservice 1.0.0\n");
    return 0;
  }
  if (strcmp(cmd, "selftest") == 0) {
    printf("selftest ok\n");
    return 0;
  }
  if (strcmp(cmd, "fail") == 0) {
    fprintf(stderr, "selftest: expected 200, got 500\n");
    return 3;
  }
  fprintf(stderr, "unknown command %s\n", cmd);
  return 64;
}
