/* Linux readiness APIs the HTTP server uses; Glibc's Swift overlay does not export these headers. */
#include <sys/epoll.h>
#include <sys/eventfd.h>
