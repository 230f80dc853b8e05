/* The commands of the `nerve` tool; each returns the process exit status
 * (args.h). argv holds the arguments after the command name. */
#ifndef NERVE_CLI_COMMANDS_H
#define NERVE_CLI_COMMANDS_H

int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_selftest(int argc, char **argv);

#endif
