package io.sparkdiffusion.cli;

import io.sparkdiffusion.jobs.Redaction;
import java.io.PrintWriter;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * Entry point of {@code bin/spark-diffusion}. Usage errors print one line naming the argument and exit with 2;
 * runtime failures print one line and exit with 1.
 */
@Command(
        name = "spark-diffusion",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "Diffusion-model generation on ONNX Runtime: local commands and Spark batch jobs.",
        subcommands = {
            GenerateCommand.class,
            io.sparkdiffusion.jobs.JobCommand.class,
            ReplayCommand.class,
            BenchCommand.class,
            BenchJobCommand.class,
            ValidateCommand.class,
            CommandLine.HelpCommand.class
        })
public final class Main implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI and returns its exit code (tests call this instead of {@link #main}). */
    public static int run(String... args) {
        return commandLine().execute(args);
    }

    /** Runs the CLI with its output and errors captured (for tests and embedding). */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cl = commandLine();
        cl.setOut(out);
        cl.setErr(err);
        int code = cl.execute(args);
        out.flush();
        err.flush();
        return code;
    }

    static CommandLine commandLine() {
        return withOneLineErrors(new CommandLine(new Main()));
    }

    /**
     * Usage errors print one line naming the argument (exit 2), failures one line (exit 1); credentials given on the
     * command line ({@code --set hadoop.fs.s3a.secret.key=...}) are masked in both. The CLI and the spark-submit main
     * class ({@link io.sparkdiffusion.jobs.GenerateJob}) share this.
     */
    public static CommandLine withOneLineErrors(CommandLine cl) {
        cl.setParameterExceptionHandler((ex, args) -> {
            PrintWriter err = ex.getCommandLine().getErr();
            err.println(Redaction.mask(
                    "error: " + ex.getMessage() + " (see '"
                            + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help')",
                    Redaction.secretsIn(List.of(args))));
            return CommandLine.ExitCode.USAGE;
        });
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            commandLine
                    .getErr()
                    .println(Redaction.mask("error: " + oneLine(ex), Redaction.secretsIn(parseResult.originalArgs())));
            return CommandLine.ExitCode.SOFTWARE;
        });
        return cl;
    }

    static String oneLine(Throwable ex) {
        return io.sparkdiffusion.util.Errors.oneLine(ex, 600);
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"spark-diffusion " + (v == null ? "dev" : v)};
        }
    }
}
