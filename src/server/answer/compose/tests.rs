use super::*;
use crate::server::answer::index::{BookIndex, SectionRow};
use crate::server::answer::retrieve::{rank, Query, Ranking};
use crate::server::book::parse::parse_page;
use std::sync::Arc;

/// An index over real parsed pages (BM25 only: no model in unit tests).
fn index(pages: &[(&str, &str)]) -> Arc<BookIndex> {
    let mut rows = Vec::new();
    for (path, src) in pages {
        let p = parse_page(path, src);
        for (i, s) in p.sections.iter().enumerate() {
            rows.push(SectionRow {
                chunk_id: (rows.len() + i) as i64,
                route: p.route.clone(),
                source_path: p.source_path.clone(),
                doc_title: p.title.clone(),
                heading: s.heading.clone(),
                anchor: s.anchor.clone(),
                level: i16::from(s.level),
                path: s.path.clone(),
                blocks: s.blocks.clone(),
                vectors: vec![],
            });
        }
    }
    Arc::new(BookIndex::build(1, rows))
}

fn answer(idx: &Arc<BookIndex>, q: &str) -> Composed {
    let r = rank(idx, None, &Query { ranking: Ranking::Lexical, ..Query::new(q) });
    compose(&r, |route, anchor| if anchor.is_empty() { format!("https://book.example{route}") } else { format!("https://book.example{route}#{anchor}") })
}

const GAZEBO: &str = "# Gazebo Basics\n\nGazebo simulates robots.\n\n## Physics Engines in Gazebo\n\nGazebo supports several engines:\n\n| Engine | Best for |\n|---|---|\n| ODE | General use, wheeled robots |\n| Bullet | Fast rigid bodies |\n| DART | Humanoids, legged robots — accurate contact dynamics |\n| Simbody | Biomechanics |\n| TPE | Trivial physics |\n| Custom | Research |\n| Other | Anything else |\n\nPick one per world file. Changing engines later means retuning every contact parameter, every friction coefficient and every solver setting of the world, which is slow work that nobody enjoys doing twice; the defaults of each engine differ in subtle ways, and models tuned for one engine often jitter, sink or explode in another, so teams usually settle on one early and stay with it for the whole project, documenting why.\n\nSome teams keep a second world file per engine for regression tests, running the same scenario nightly in each so that a change in one engine's release notes never surprises them on the day of a demo; this costs compute but catches drift in contact behaviour, sensor noise models and solver defaults long before it matters to anyone outside the team.\n\n## Spawning Models\n\nUse the *spawn* service:\n\n- Start Gazebo first\n- Call the spawn service with your URDF\n- Check the model appears\n";

#[test]
fn a_table_answer_keeps_its_header_and_the_matching_row() {
    let idx = index(&[("sim/gazebo.md", GAZEBO)]);
    let a = answer(&idx, "which physics engine is best for humanoids and legged robots?");
    assert!(!a.refused, "{a:?}");
    assert!(a.markdown.starts_with("From *Gazebo Basics* › **Physics Engines in Gazebo** [1]:"), "{}", a.markdown);
    assert!(a.markdown.contains("| Engine | Best for |\n| --- | --- |"), "{}", a.markdown);
    assert!(a.markdown.contains("| DART | Humanoids, legged robots — accurate contact dynamics |"), "{}", a.markdown);
    assert!(!a.markdown.contains("Simbody"), "only the rows that match: {}", a.markdown);
    // The section's anchor, then the sentence there that matches (a text fragment).
    assert!(a.citations[0].url.starts_with("https://book.example/docs/sim/gazebo#physics-engines-in-gazebo:~:text=Gazebo%20supports"), "{}", a.citations[0].url);
    assert!(a.markdown.contains("Read more: [Gazebo Basics › Physics Engines in Gazebo](https://book.example/docs/sim/gazebo#physics-engines-in-gazebo)"));
}

#[test]
fn a_list_stays_a_list_with_its_lead_in() {
    let idx = index(&[("sim/gazebo.md", GAZEBO)]);
    let a = answer(&idx, "how do I spawn my URDF model?");
    assert!(a.markdown.contains("Use the *spawn* service:\n\n- Start Gazebo first\n- Call the spawn service with your URDF\n- Check the model appears"), "{}", a.markdown);
    let body = a.markdown.replace("**Spawning Models**", "");
    assert!(!body.contains("**"), "no stray markers outside the header: {body}");
}

#[test]
fn long_numbered_steps_keep_their_numbers() {
    let steps: String = (1..=12)
        .map(|i| format!("{i}. Step about {}, done carefully and checked twice before moving on\n", if i == 9 { "calibrating the gyroscope" } else { "something else" }))
        .collect();
    let idx = index(&[("setup.md", &format!("# Setup\n\n## Procedure\n\n{steps}"))]);
    let a = answer(&idx, "when do I calibrate the gyroscope?");
    assert!(a.markdown.contains("9. Step about calibrating the gyroscope, done carefully"), "{}", a.markdown);
    assert!(!a.markdown.contains("\n1. "), "{}", a.markdown);
}

#[test]
fn the_page_top_links_to_the_page_and_paragraphs_are_whole() {
    let long = "Physical AI means intelligence that acts in the physical world through a body. ".repeat(3);
    let idx = index(&[("intro.md", &format!("# What Is Physical AI\n\n{long}\n\n## Other\n\nUnrelated text here.\n"))]);
    let a = answer(&idx, "what does physical AI mean?");
    assert!(a.citations[0].url.starts_with("https://book.example/docs/intro#:~:text=Physical%20AI%20means"), "{}", a.citations[0].url);
    assert!(a.markdown.contains(long.trim()), "{}", a.markdown);
    assert!(a.markdown.starts_with("From *What Is Physical AI* [1]:"), "{}", a.markdown);
}

#[test]
fn weak_evidence_is_refused_with_pointers() {
    let idx = index(&[("sim/gazebo.md", GAZEBO)]);
    let a = answer(&idx, "best sourdough hydration for bread?");
    assert!(a.refused);
    assert!(a.citations.is_empty());
    let none = answer(&index(&[]), "anything at all");
    assert!(none.refused && none.markdown.contains("rephrasing"));
}

#[test]
fn a_short_section_is_quoted_whole_and_a_lead_in_never_dangles() {
    let src = "# Notes\n\n## Launching\n\nTo launch the demo:\n\n```bash\nros2 launch demo all.launch.py\n```\n\nThen watch the robot wave.\n\n## Long Listing\n\nThe full launch file is:\n\n```python\n".to_owned()
            + &"print('launch line')\n".repeat(40)
            + "```\n";
    let idx = index(&[("notes.md", &src)]);
    let a = answer(&idx, "how do I launch the demo?");
    assert!(a.markdown.contains("To launch the demo:\n\n```bash\nros2 launch demo all.launch.py\n```\n\nThen watch the robot wave."), "{}", a.markdown);
    // Long code comes as an excerpt, with the line that introduces it, never cut mid-fence.
    let a = answer(&idx, "what is in the full launch file listing?");
    assert!(a.markdown.contains("The full launch file is:\n\n```python\nprint('launch line')"), "{}", a.markdown);
    assert!(a.markdown.matches("print('launch line')").count() <= 20, "an excerpt, not 40 lines: {}", a.markdown);
    assert!(a.markdown.contains("…\n```"), "the cut is marked: {}", a.markdown);
}

/// A page whose sections are mostly code, with a recap that holds the only prose definitions.
const CODE_CHAPTER: &str = "# Chapter 4: Control\n\n## 4.1 Introduction\n\nThis chapter teaches robots to keep their balance while they walk and carry things.\n\n## 4.2 Balance Controller\n\n```python\nimport numpy as np\n\nclass BalanceController:\n    def __init__(self, gain=2.0):\n        self.gain = gain\n        self.history = []\n\n    def update(self, tilt, rate):\n        self.history.append(tilt)\n        if len(self.history) > 100:\n            self.history.pop(0)\n        command = -self.gain * tilt - 0.1 * rate\n        return command\n\n    def reset(self):\n        self.history = []\n\n    def stats(self):\n        return np.mean(self.history), np.std(self.history)\n\n    def watchdog(self):\n        while True:\n            time.sleep(0.01)  # Check the heartbeat every 10ms\n            if self.missed():\n                self.stop()\n\n    def missed(self):\n        return False\n\n    def stop(self):\n        print('stopped')\n```\n\n## 4.3 Trajectories\n\nTrajectories are planned ahead of time from waypoints and timing constraints given by the task.\n\n## 4.9 Conclusion\n\nWe covered the essentials of control:\n\n- **Balance controller**: a feedback loop that turns measured tilt into corrective joint commands\n- **Trajectory**: a timed path through waypoints\n";

#[test]
fn a_code_section_is_answered_from_its_code_never_refused_for_want_of_prose() {
    let idx = index(&[("control.md", CODE_CHAPTER)]);
    let a = answer(&idx, "in the balance controller code how often does the watchdog check the heartbeat?");
    assert!(!a.refused, "{}", a.markdown);
    assert!(a.markdown.starts_with("From *Chapter 4: Control* › **4.2 Balance Controller** [1], its code:"), "{}", a.markdown);
    assert!(a.markdown.contains("time.sleep(0.01)  # Check the heartbeat every 10ms"), "the lines that answer: {}", a.markdown);
    assert!(a.markdown.contains("```python\n…\n"), "an excerpt, marked as one: {}", a.markdown);
}

#[test]
fn what_is_x_leads_with_the_books_definition_even_in_a_recap() {
    let idx = index(&[("control.md", CODE_CHAPTER)]);
    let a = answer(&idx, "what is a balance controller?");
    assert!(!a.refused, "{}", a.markdown);
    assert!(a.markdown.starts_with("From *Chapter 4: Control* › **4.9 Conclusion** [1]:"), "the definition first: {}", a.markdown);
    let (definition, code) = (a.markdown.find("- **Balance controller**: a feedback loop"), a.markdown.find("**4.2 Balance Controller**"));
    assert!(definition.is_some() && code.is_some() && definition < code, "then the section that has the code: {}", a.markdown);
}

#[test]
fn a_question_about_the_chapter_is_answered_by_its_framing() {
    let other = "# Chapter 5: Hands\n\n## 5.1 Introduction\n\nGrippers grasp objects of many shapes using force and friction.\n\n## 5.2 Grasps\n\nA grasp holds an object.\n\n## 5.9 Conclusion\n\n- **Grasp**: holding an object\n";
    let third = "# Chapter 6: Eyes\n\n## 6.1 Introduction\n\nCameras see the world in colour and depth for the robot.\n\n## 6.2 Images\n\nImages are arrays.\n\n## 6.9 Conclusion\n\n- **Image**: an array of pixels\n";
    let idx = index(&[("control.md", CODE_CHAPTER), ("hands.md", other), ("eyes.md", third)]);
    let r = rank(&idx, None, &Query { ranking: Ranking::Lexical, ..Query::new("what is the control chapter about, in short?") });
    let first: Vec<&str> = r.hits.iter().take(2).map(|h| r.section(h).heading.as_str()).collect();
    assert!(first.contains(&"4.1 Introduction") || first.contains(&"4.9 Conclusion"), "{first:?}");
    // For a detail, the recap that only lists it ranks below the section that explains it.
    let r = rank(&idx, None, &Query { ranking: Ranking::Lexical, ..Query::new("how are trajectories planned through waypoints?") });
    assert_eq!(r.section(&r.hits[0]).heading, "4.3 Trajectories");
}

#[test]
fn a_heading_over_subsections_is_quoted_from_its_best_subsection() {
    let src = "# Joints\n\n## 3.4 Joints: Connecting Links\n\n### 3.4.1 Revolute\n\nA revolute joint rotates about one axis within limits of effort and velocity.\n\n### 3.4.2 Fixed\n\nA fixed joint welds two links together for cameras and sensors.\n";
    let idx = index(&[("joints.md", src)]);
    let r = rank(&idx, None, &Query { ranking: Ranking::Lexical, ..Query::new("joints connecting links") });
    let quoted = compose(&r, |route, anchor| format!("{route}#{anchor}"));
    assert!(!quoted.refused);
    assert!(!quoted.markdown.contains("The book covers this in these sections"), "{}", quoted.markdown);
}

/// Filler prose that mentions none of the questions' words.
fn filler(n: usize) -> String {
    "Teams plan their week, review the notes and keep the lab tidy before anyone starts. ".repeat(n)
}

#[test]
fn blocks_from_different_subsections_keep_their_headings() {
    let src = format!(
        "# Scenarios\n\n## Risky Scenarios\n\n{}\n\n#### Crowd Navigation\n\n{}\n\nPedestrians are simulated walking past the humanoid at many speeds.\n\n#### Disaster Response\n\n{}\n\nCollapsed buildings are simulated so the humanoid can train safely.\n",
        filler(3),
        filler(3),
        filler(3)
    );
    let idx = index(&[("sim/scenarios.md", &src)]);
    let a = answer(&idx, "can pedestrians and collapsed buildings be simulated for a humanoid?");
    let md = &a.markdown;
    let (crowd, pedestrians) = (md.find("**Crowd Navigation**"), md.find("Pedestrians are simulated"));
    let (disaster, collapsed) = (md.find("**Disaster Response**"), md.find("Collapsed buildings are simulated"));
    assert!(crowd.is_some() && pedestrians.is_some() && disaster.is_some() && collapsed.is_some(), "{md}");
    assert!(crowd < pedestrians && pedestrians < disaster && disaster < collapsed, "each passage under its own heading: {md}");
    assert!(!md.contains("Teams plan"), "{md}");
}

#[test]
fn a_lead_in_scores_with_the_list_it_introduces() {
    // The opening paragraph shares the list's words and comes first; only the lead-in says
    // "difference", and there is room for one of the two.
    let src = format!(
        "# Intro\n\n## What Is Physical AI?\n\nTraditional AI and physical AI both learn from data. {}\n\nThe difference is profound:\n\n- **Traditional AI**: processes data and produces text\n- **Physical AI**: perceives, reasons and acts in the world\n\n## Robots\n\nRobots have motors and sensors.\n",
        filler(9)
    );
    let idx = index(&[("intro.md", &src)]);
    let a = answer(&idx, "what is the difference between traditional AI and physical AI?");
    assert!(a.markdown.contains("The difference is profound:\n\n- **Traditional AI**: processes data"), "{}", a.markdown);
}
