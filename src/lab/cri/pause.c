/* The pod sandbox's only process: holds the pod's namespaces open until it is told to stop.
   Built with gcc -static so the image needs nothing but this one file. */
#include <signal.h>
#include <unistd.h>

static void leave(int sig) {
  (void)sig;
  _exit(0);
}

int main(void) {
  signal(SIGINT, leave);
  signal(SIGTERM, leave);
  for (;;) pause();
}
