/* mlp/_lock.h: a readers-writer lock around one network's parameters, so that predictions
 * (readers, any number at once) never see a half-applied mini-batch of a concurrent fit
 * (the writer, one kernel call at a time). POSIX rwlock, or an SRW lock on Windows.
 * Private to _core.pyx. */
#ifndef MLP_LOCK_H
#define MLP_LOCK_H

#ifdef _WIN32
#include <windows.h>
typedef SRWLOCK mlp_rwlock;
static inline int mlp_rwlock_init(mlp_rwlock *l) { InitializeSRWLock(l); return 0; }
static inline void mlp_rwlock_destroy(mlp_rwlock *l) { (void)l; }
static inline void mlp_rwlock_read(mlp_rwlock *l) { AcquireSRWLockShared(l); }
static inline void mlp_rwlock_write(mlp_rwlock *l) { AcquireSRWLockExclusive(l); }
static inline void mlp_rwlock_unlock_read(mlp_rwlock *l) { ReleaseSRWLockShared(l); }
static inline void mlp_rwlock_unlock_write(mlp_rwlock *l) { ReleaseSRWLockExclusive(l); }
#else
#include <pthread.h>
typedef pthread_rwlock_t mlp_rwlock;
static inline int mlp_rwlock_init(mlp_rwlock *l) { return pthread_rwlock_init(l, NULL); }
static inline void mlp_rwlock_destroy(mlp_rwlock *l) { pthread_rwlock_destroy(l); }
static inline void mlp_rwlock_read(mlp_rwlock *l) { pthread_rwlock_rdlock(l); }
static inline void mlp_rwlock_write(mlp_rwlock *l) { pthread_rwlock_wrlock(l); }
static inline void mlp_rwlock_unlock_read(mlp_rwlock *l) { pthread_rwlock_unlock(l); }
static inline void mlp_rwlock_unlock_write(mlp_rwlock *l) { pthread_rwlock_unlock(l); }
#endif

#endif /* MLP_LOCK_H */
