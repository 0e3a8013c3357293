package io.sparkdiffusion.ml;

import io.sparkdiffusion.batch.BatchGenerator;
import io.sparkdiffusion.batch.Outcome;
import io.sparkdiffusion.jobs.GenerationStage;
import io.sparkdiffusion.jobs.ModelHandle;
import io.sparkdiffusion.util.Errors;
import io.sparkdiffusion.util.InvalidRequestException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;
import java.util.NoSuchElementException;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;

/**
 * The {@link DiffusionGenerator}'s work on one partition: each input row resolved into an engine row (or its error),
 * generated through the executor's resident pipeline by the shared {@link GenerationStage}, and returned with the
 * output struct appended. Rows the engine refuses, or whose values cannot be used, get the error set; the others are
 * generated.
 */
final class GeneratorPartition implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;

    private final ModelHandle model;
    private final GeneratorColumns columns;
    private final int batchSize;

    GeneratorPartition(ModelHandle model, GeneratorColumns columns, int batchSize) {
        this.model = model;
        this.columns = columns;
        this.batchSize = batchSize;
    }

    /** An input row and its resolved values, the tag that comes back with its outcome. */
    private record Input(Row row, GeneratorColumns.Resolved resolved) {}

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        Deque<Row> refused = new ArrayDeque<>();
        Iterator<BatchGenerator.Tagged<Input>> inputs = new Iterator<>() {
            private BatchGenerator.Tagged<Input> next;

            @Override
            public boolean hasNext() {
                while (next == null && rows.hasNext()) {
                    Row r = rows.next();
                    try {
                        GeneratorColumns.Resolved resolved = columns.resolve(r);
                        next = new BatchGenerator.Tagged<>(new Input(r, resolved), resolved.row());
                    } catch (InvalidRequestException e) {
                        refused.add(withError(r, null, e.field(), Errors.oneLine(e, 500)));
                    }
                }
                return next != null;
            }

            @Override
            public BatchGenerator.Tagged<Input> next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                BatchGenerator.Tagged<Input> n = next;
                next = null;
                return n;
            }
        };
        Iterator<Outcome<Input>> outcomes = GenerationStage.generate(
                model, new BatchGenerator.Options(batchSize, columns.keepUnmasked(), null), inputs);
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return !refused.isEmpty() || outcomes.hasNext() || !refused.isEmpty();
            }

            @Override
            public Row next() {
                if (!refused.isEmpty()) {
                    return refused.poll();
                }
                if (outcomes.hasNext()) {
                    Outcome<Input> o = outcomes.next();
                    if (o instanceof Outcome.Generated<Input> g) {
                        return generated(g);
                    }
                    Outcome.Failed<Input> f = (Outcome.Failed<Input>) o;
                    return withError(f.tag().row(), f.tag().resolved(), f.field(), f.reason());
                }
                if (!refused.isEmpty()) {
                    return refused.poll();
                }
                throw new NoSuchElementException();
            }
        };
    }

    private Row generated(Outcome.Generated<Input> g) {
        GeneratorColumns.Resolved v = g.tag().resolved();
        byte[] media;
        String mediaType;
        if (g.video()) {
            media = GenerationStage.video(g.output(), columns.videoFormat(), v.fps());
            mediaType = columns.videoFormat().mimeType();
        } else {
            media = GenerationStage.png(g.output());
            mediaType = "image/png";
        }
        Row out = RowFactory.create(
                media,
                mediaType,
                v.seed(),
                v.steps(),
                v.guidanceScale(),
                g.width(),
                g.height(),
                v.scheduler(),
                v.strength(),
                g.video() ? g.frames() : null,
                v.fps(),
                g.generationMillis(),
                v.notes().isEmpty() ? null : String.join("; ", v.notes()),
                null);
        return append(g.tag().row(), out);
    }

    /** The input row with the output struct holding the error (and the values resolved so far, when any). */
    private Row withError(Row input, GeneratorColumns.Resolved v, String field, String reason) {
        Row out = RowFactory.create(
                null,
                null,
                v == null ? null : v.seed(),
                v == null ? null : v.steps(),
                v == null ? null : v.guidanceScale(),
                null,
                null,
                v == null ? null : v.scheduler(),
                v == null ? null : v.strength(),
                null,
                v == null ? null : v.fps(),
                null,
                null,
                RowFactory.create(field, reason));
        return append(input, out);
    }

    private Row append(Row input, Row output) {
        Object[] values = new Object[columns.inputWidth() + 1];
        for (int i = 0; i < columns.inputWidth(); i++) {
            values[i] = input.get(i);
        }
        values[columns.inputWidth()] = output;
        return RowFactory.create(values);
    }
}
