// ThreadSanitizer builds only (CMakeLists.txt adds this file to every program
// when HUB_SANITIZE=thread).
//
// librdkafka (Debian 12) starts its threads with glibc's C11 thrd_create,
// which calls pthread_create inside libc, where GCC 12's TSan runtime does not
// intercept it: such a thread has no TSan state and crashes at its first
// malloc ("SEGV on unknown address" in the allocator, thread "rdk:...").
// Its mutexes and condition variables (mtx_*, cnd_*, call_once) are glibc's C11
// ones too, so TSan would not see it synchronise and would report races
// between its threads that the locks prevent.  Defined in the executable,
// these take precedence over glibc's for librdkafka and go through the
// pthread functions TSan intercepts; glibc's own C11 functions are the same
// calls on the same objects (mtx_t, cnd_t and once_flag hold a pthread
// mutex, condition and once).  thrd_current needs nothing.
#include <pthread.h>
#include <threads.h>

#include <cerrno>
#include <cstdint>
#include <new>

namespace {

int C11Result(int rc) {
  switch (rc) {
    case 0: return thrd_success;
    case ETIMEDOUT: return thrd_timedout;
    case EBUSY: return thrd_busy;
    case ENOMEM: return thrd_nomem;
    default: return thrd_error;
  }
}

pthread_mutex_t* Mutex(mtx_t* m) { return reinterpret_cast<pthread_mutex_t*>(m); }
pthread_cond_t* Cond(cnd_t* c) { return reinterpret_cast<pthread_cond_t*>(c); }

struct ThreadStart {
  thrd_start_t func;
  void* arg;
};

void* RunThreadStart(void* p) {
  const ThreadStart start = *static_cast<ThreadStart*>(p);
  delete static_cast<ThreadStart*>(p);
  return reinterpret_cast<void*>(static_cast<intptr_t>(start.func(start.arg)));
}

}  // namespace

extern "C" int thrd_create(thrd_t* thr, thrd_start_t func, void* arg) {
  auto* start = new (std::nothrow) ThreadStart{func, arg};
  if (!start) return thrd_nomem;
  const int rc = pthread_create(thr, nullptr, RunThreadStart, start);
  if (rc != 0) {
    delete start;
    return rc == EAGAIN ? thrd_nomem : thrd_error;
  }
  return thrd_success;
}

extern "C" int thrd_join(thrd_t thr, int* res) {
  void* value = nullptr;
  if (pthread_join(thr, &value) != 0) return thrd_error;
  if (res) *res = static_cast<int>(reinterpret_cast<intptr_t>(value));
  return thrd_success;
}

extern "C" int mtx_init(mtx_t* m, int type) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  if (type & mtx_recursive) pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  const int rc = pthread_mutex_init(Mutex(m), &attr);
  pthread_mutexattr_destroy(&attr);
  return C11Result(rc);
}
extern "C" int mtx_lock(mtx_t* m) { return C11Result(pthread_mutex_lock(Mutex(m))); }
extern "C" int mtx_trylock(mtx_t* m) { return C11Result(pthread_mutex_trylock(Mutex(m))); }
extern "C" int mtx_timedlock(mtx_t* __restrict m, const struct timespec* __restrict t) {
  return C11Result(pthread_mutex_timedlock(Mutex(m), t));
}
extern "C" int mtx_unlock(mtx_t* m) { return C11Result(pthread_mutex_unlock(Mutex(m))); }
extern "C" void mtx_destroy(mtx_t* m) { pthread_mutex_destroy(Mutex(m)); }

extern "C" int cnd_init(cnd_t* c) { return C11Result(pthread_cond_init(Cond(c), nullptr)); }
extern "C" int cnd_signal(cnd_t* c) { return C11Result(pthread_cond_signal(Cond(c))); }
extern "C" int cnd_broadcast(cnd_t* c) { return C11Result(pthread_cond_broadcast(Cond(c))); }
extern "C" int cnd_wait(cnd_t* c, mtx_t* m) { return C11Result(pthread_cond_wait(Cond(c), Mutex(m))); }
extern "C" int cnd_timedwait(cnd_t* __restrict c, mtx_t* __restrict m, const struct timespec* __restrict t) {
  return C11Result(pthread_cond_timedwait(Cond(c), Mutex(m), t));
}
extern "C" void cnd_destroy(cnd_t* c) { pthread_cond_destroy(Cond(c)); }

extern "C" void call_once(once_flag* flag, void (*func)(void)) {
  pthread_once(reinterpret_cast<pthread_once_t*>(flag), func);
}
