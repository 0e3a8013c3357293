package io.sparkdiffusion.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.sparkdiffusion.util.JsonConfig;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PromptTemplatesTest {
    private static final String TEMPLATE = "a photo of a {object} in {style}";

    private static final RowRules RULES =
            new RowRules(RowRulesTest.defaults(new long[0], new double[0]), RowRulesTest.TEXT);

    private static Map<String, List<String>> lists(Object... slotAndValues) {
        Map<String, List<String>> m = new LinkedHashMap<>();
        for (int i = 0; i < slotAndValues.length; i += 2) {
            @SuppressWarnings("unchecked")
            List<String> values = (List<String>) slotAndValues[i + 1];
            m.put((String) slotAndValues[i], values);
        }
        return m;
    }

    private static List<PlannedRow> plan(PromptTemplates t, RowRules rules, Map<String, String> row) {
        return t.plan(rules, row::get, 1, row.toString()).toList();
    }

    private static JsonNode slots(PlannedRow p) throws Exception {
        return JsonConfig.mapper().readTree(p.getTemplateSlots());
    }

    @Test
    void aRowExpandsToEveryCombinationWithReadableIdsAndItsSlotValues() throws Exception {
        PromptTemplates t = PromptTemplates.of(
                TEMPLATE,
                lists("style", List.of("watercolor", "oil paint"), "object", List.of("cat", "dog", "owl")),
                false);
        assertEquals(6, t.combinations());
        List<PlannedRow> rows = plan(t, RULES, RowRulesTest.row("id", "r1"));
        List<String> ids = rows.stream().map(PlannedRow::getId).toList();
        // the template's first slot varies slowest, whatever the order of the lists in the configuration
        assertEquals(
                List.of(
                        "r1-cat-watercolor",
                        "r1-cat-oil_paint",
                        "r1-dog-watercolor",
                        "r1-dog-oil_paint",
                        "r1-owl-watercolor",
                        "r1-owl-oil_paint"),
                ids);
        PlannedRow dogOil = rows.get(3);
        assertTrue(dogOil.isAccepted());
        assertEquals("a photo of a dog in oil paint", dogOil.getPrompt());
        assertEquals("r1", dogOil.getInputId());
        assertEquals("dog", slots(dogOil).get("object").asText());
        assertEquals("oil paint", slots(dogOil).get("style").asText());
        assertEquals("r1-dog-oil_paint.png", dogOil.getImageFile(), "the id is its own file name");
        // without a seed column each combination's seed comes from its id, as for any row
        assertEquals(RowRules.seedFromId("r1-dog-oil_paint"), dogOil.getSeed());
        assertEquals(6, rows.stream().map(PlannedRow::getSeed).distinct().count());
    }

    @Test
    void aRowsSeedIsSharedByItsCombinationsAndTheGridExpandsEachOne() {
        PromptTemplates t =
                PromptTemplates.of(TEMPLATE, lists("object", List.of("cat", "dog"), "style", List.of("ink")), false);
        List<PlannedRow> same = plan(t, RULES, RowRulesTest.row("id", "r", "seed", "7"));
        assertEquals(List.of(7L, 7L), same.stream().map(PlannedRow::getSeed).toList());
        RowRules grid = new RowRules(RowRulesTest.defaults(new long[] {1, 2}, new double[] {3}), RowRulesTest.TEXT);
        List<String> ids = plan(t, grid, RowRulesTest.row("id", "r")).stream()
                .map(PlannedRow::getId)
                .toList();
        assertEquals(List.of("r-cat-ink-s1-g3", "r-cat-ink-s2-g3", "r-dog-ink-s1-g3", "r-dog-ink-s2-g3"), ids);
    }

    @Test
    void slotsWithoutAListComeFromTheRowsColumns() throws Exception {
        PromptTemplates t = PromptTemplates.of(TEMPLATE, lists("style", List.of("ink", "chalk")), false);
        assertEquals(List.of("object", PromptTemplates.INDEX_COLUMN), t.inputColumns());
        List<PlannedRow> rows = plan(t, RULES, RowRulesTest.row("id", "r", "object", "heron"));
        assertEquals(
                List.of("r-ink", "r-chalk"),
                rows.stream().map(PlannedRow::getId).toList());
        assertEquals("a photo of a heron in chalk", rows.get(1).getPrompt());
        assertEquals("heron", slots(rows.get(1)).get("object").asText());
        // a null column is one rejection of the row, naming the slot
        List<PlannedRow> missing = plan(t, RULES, RowRulesTest.row("id", "q"));
        assertEquals(1, missing.size());
        assertFalse(missing.get(0).isAccepted());
        assertEquals("object", missing.get(0).getErrorField());
        assertEquals("q", missing.get(0).getId());
        IllegalArgumentException noColumn =
                assertThrows(IllegalArgumentException.class, () -> t.checkColumns(new String[] {"id", "prompt"}));
        assertTrue(
                noColumn.getMessage().contains("templates.slots.object")
                        && noColumn.getMessage().contains("no column 'object'"),
                noColumn.getMessage());
        t.checkColumns(new String[] {"id", "OBJECT"});
    }

    @Test
    void aBadRowIsRejectedOnceUnderItsOwnIdNotOncePerCombination() {
        PromptTemplates t = PromptTemplates.of(
                TEMPLATE, lists("object", List.of("a", "b", "c"), "style", List.of("x", "y")), false);
        List<PlannedRow> rows = plan(t, RULES, RowRulesTest.row("id", "bad", "num_inference_steps", "999"));
        assertEquals(1, rows.size());
        assertEquals("bad", rows.get(0).getId());
        assertEquals("num_inference_steps", rows.get(0).getErrorField());
        List<PlannedRow> duplicates =
                t.plan(RULES, RowRulesTest.row("id", "dup")::get, 2, "{}").toList();
        assertEquals(1, duplicates.size());
        assertEquals("id", duplicates.get(0).getErrorField());
    }

    @Test
    void standaloneRowsAreOneCombinationEachWithUniqueIds() {
        PromptTemplates t = PromptTemplates.of(
                "{a} and {b}", lists("a", List.of("red, shiny", "dull"), "b", List.of("1", "2", "3")), true);
        assertEquals(6, t.combinations());
        Set<String> ids = new HashSet<>();
        List<String> prompts = new ArrayList<>();
        for (long i = 0; i < t.combinations(); i++) {
            String id = t.combinationId(i);
            Map<String, String> row = RowRulesTest.row("id", id, PromptTemplates.INDEX_COLUMN, Long.toString(i));
            List<PlannedRow> planned = plan(t, RULES, row);
            assertEquals(1, planned.size());
            assertEquals(id, planned.get(0).getId(), "the standalone row's id is its combination's");
            assertEquals(id, planned.get(0).getInputId());
            ids.add(id);
            prompts.add(planned.get(0).getPrompt());
        }
        assertEquals(Set.of("red_shiny-1", "red_shiny-2", "red_shiny-3", "dull-1", "dull-2", "dull-3"), ids);
        assertEquals("red, shiny and 3", prompts.get(2));
        // an input's own __template_index column means nothing when the job has an input table
        PromptTemplates withInput = PromptTemplates.of("{a}", lists("a", List.of("x", "y")), false);
        Map<String, String> forged = RowRulesTest.row("id", "r", PromptTemplates.INDEX_COLUMN, "1");
        assertEquals(2, plan(withInput, RULES, forged).size());
    }

    @Test
    void valuesThatWouldShareAnIdKeyAreNumbered() {
        assertEquals(List.of("oil_paint", "ink"), PromptTemplates.keys(List.of("oil paint", "ink")));
        assertEquals(
                List.of("oil_paint_0", "oil_paint_1", "__2"),
                PromptTemplates.keys(List.of("oil paint", "oil-paint", "!!")));
        assertNotEquals(PromptTemplates.keys(List.of("x".repeat(50))).get(0).length(), 50);
    }

    @Test
    void templatesAndTheirListsAreCheckedWhenTheConfigurationLoads() {
        assertEquals(List.of("a {", "b", "} c"), PromptTemplates.parse("a {{{b}}} c"));
        Map<String, String> wrong = Map.of(
                "a {object", "does not start a slot",
                "a {1x}", "does not start a slot",
                "a } b", "closes no slot");
        wrong.forEach((template, message) -> {
            IllegalArgumentException e = assertThrows(
                    IllegalArgumentException.class, () -> PromptTemplates.of(template, Map.of(), false), template);
            assertTrue(e.getMessage().contains(message) && e.getMessage().contains("templates.prompt"), e.getMessage());
        });
        Map<Map<String, List<String>>, String> badLists = Map.of(
                lists("colour", List.of("red")), "templates.slots.colour is not a slot",
                lists("object", List.of()), "templates.slots.object is an empty list");
        badLists.forEach((l, message) -> {
            IllegalArgumentException e =
                    assertThrows(IllegalArgumentException.class, () -> PromptTemplates.of(TEMPLATE, l, false));
            assertTrue(e.getMessage().contains(message), e.getMessage());
        });
        IllegalArgumentException noList = assertThrows(
                IllegalArgumentException.class,
                () -> PromptTemplates.of(TEMPLATE, lists("object", List.of("cat")), true));
        assertTrue(noList.getMessage().contains("templates.slots.style"), noList.getMessage());
        assertThrows(IllegalArgumentException.class, () -> PromptTemplates.of("no slots", Map.of(), true));
        assertThrows(IllegalArgumentException.class, () -> PromptTemplates.of(null, lists("a", List.of("x")), false));
        assertFalse(PromptTemplates.of(null, Map.of(), true).enabled());
    }
}
