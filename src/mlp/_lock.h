/* mlp/_lock.h: a readers-writer lock around one network's parameters, so that predictions
 * (readers, any number at once) never see a half-applied mini-batch of a concurrent fit
 * (the writer, one kernel call at a time). POSIX rwlock, or an SRW lock on Windows.
 * Private to _core.pyx (the mlpk_ prefix): not part of mlp's C API. */
#ifndef MLPK_LOCK_H
#define MLPK_LOCK_H

#ifdef _WIN32
#include <windows.h>
typedef SRWLOCK mlpk_rwlock;
static inline int mlpk_rwlock_init(mlpk_rwlock *l) { InitializeSRWLock(l); return 0; }
static inline void mlpk_rwlock_destroy(mlpk_rwlock *l) { (void)l; }
static inline void mlpk_rwlock_read(mlpk_rwlock *l) { AcquireSRWLockShared(l); }
static inline void mlpk_rwlock_write(mlpk_rwlock *l) { AcquireSRWLockExclusive(l); }
static inline void mlpk_rwlock_unlock_read(mlpk_rwlock *l) { ReleaseSRWLockShared(l); }
static inline void mlpk_rwlock_unlock_write(mlpk_rwlock *l) { ReleaseSRWLockExclusive(l); }
#else
#include <pthread.h>
typedef pthread_rwlock_t mlpk_rwlock;
static inline int mlpk_rwlock_init(mlpk_rwlock *l) { return pthread_rwlock_init(l, NULL); }
static inline void mlpk_rwlock_destroy(mlpk_rwlock *l) { pthread_rwlock_destroy(l); }
static inline void mlpk_rwlock_read(mlpk_rwlock *l) { pthread_rwlock_rdlock(l); }
static inline void mlpk_rwlock_write(mlpk_rwlock *l) { pthread_rwlock_wrlock(l); }
static inline void mlpk_rwlock_unlock_read(mlpk_rwlock *l) { pthread_rwlock_unlock(l); }
static inline void mlpk_rwlock_unlock_write(mlpk_rwlock *l) { pthread_rwlock_unlock(l); }
#endif

#endif /* MLPK_LOCK_H */
