/** Signal numbers and strsignal(3) texts, for Miredo's "Exiting on signal 15 (Terminated)". */
import { constants } from 'node:os';

const DESCRIPTIONS: Readonly<Partial<Record<NodeJS.Signals, string>>> = {
  SIGHUP: 'Hangup',
  SIGINT: 'Interrupt',
  SIGQUIT: 'Quit',
  SIGKILL: 'Killed',
  SIGSEGV: 'Segmentation fault',
  SIGABRT: 'Aborted',
  SIGBUS: 'Bus error',
  SIGFPE: 'Floating point exception',
  SIGILL: 'Illegal instruction',
  SIGPIPE: 'Broken pipe',
  SIGALRM: 'Alarm clock',
  SIGTERM: 'Terminated',
  SIGUSR1: 'User defined signal 1',
  SIGUSR2: 'User defined signal 2',
  SIGTRAP: 'Trace/breakpoint trap',
  SIGXCPU: 'CPU time limit exceeded',
  SIGXFSZ: 'File size limit exceeded',
  SIGSYS: 'Bad system call',
};

export function signalNumber(signal: NodeJS.Signals): number {
  return constants.signals[signal] ?? 0;
}

export function signalDescription(signal: NodeJS.Signals): string {
  return DESCRIPTIONS[signal] ?? signal;
}
