"""Mandarin voices by ear: CER of the project's Whisper base on held-out news lines, per voice; RTF.

Run: .venv/bin/python bench/tts_zh.py [--voices ttskit:Aiyue,ttskit:biaobei,...] [--set a|b] [--lines 0-5]
     [--out DIR]

Each voice reads every line of a held-out set on its own (one `synthesize` per line, as the anchor reads a
story: the voice's own normaliser, pauses and level); Whisper base (the project's ASR: language zh, its
Simplified prompt and zh-cn conversion) transcribes the 16 kHz audio.

The CER. Both the script line and Whisper's transcript go through one function, `spoken_chars`: the
voice's normaliser (digits, %, dates, clock times and scores as the words a presenter says), then 两/二,
〇/零 and 幺/一 folded to one character each (the same sound written two ways; Whisper writes numbers as
digits), then punctuation and spaces out. CER = (substitutions + deletions + insertions) over the set's
reference characters (a corpus CER, not a mean of per-line CERs). A homophone Whisper writes for a
correctly spoken syllable (作/做, 渔/鱼) counts as an error: the figure is the ASR's, and no voice fixes it.
Also printed per voice: the worst line, the load time, the first read's cost (includes one-off warm-up) and
the warm RTF (wall seconds / audio seconds over the rest) and its CPU seconds per audio second (steadier
on a shared machine). With --timing (ttskit voices) the word starts are checked against Whisper's own word
timestamps, beside the proportional spread Kokoro uses.

Set a (HELD_OUT) was written for this benchmark before the voice's text front end was reworked and was
used to find what to fix; set b (HELD_OUT_B) was written after, and measured once per voice: report
both. Neither is used in tests. The voices' reads are draws (Tacotron's prenet dropout; fixed seeds make
them repeatable): other seeds move a 24-line set's CER by about +-0.01.
Machines here are shared and noisy: read the ratios, not the absolute seconds.
"""

from __future__ import annotations

import argparse
import difflib
import logging
import re
import tempfile
import time
from pathlib import Path

import jiwer

from newsroom.asr import Transcriber
from newsroom.config import Settings
from newsroom.media import extract_audio
from newsroom.tts import load_voice, normalize_text

HELD_OUT = (
    "国务院总理李强3月5日在北京人民大会堂作政府工作报告，提出今年经济增长目标为5%左右。",
    "据中国气象局预报，受冷空气影响，华北地区明天最低气温将降至零下12摄氏度。",
    "上海浦东国际机场今年前三季度旅客吞吐量达到5800万人次，同比增长18.6%。",
    "第十五届全国运动会将于2025年11月在广东、香港和澳门三地联合举办。",
    "深圳市政府宣布，将新建15座公共图书馆，总投资约为42亿元人民币。",
    "世界卫生组织总干事谭德塞表示，全球疫苗接种率仍需进一步提高。",
    "受强降雨影响，四川省雅安市部分路段发生山体滑坡，目前已有230名群众被紧急转移。",
    "中国人民银行今天宣布，下调金融机构存款准备金率0.5个百分点。",
    "在昨晚结束的比赛中，中国女排以3比1战胜巴西队，晋级半决赛。",
    "杭州亚运会共有来自45个国家和地区的一万两千多名运动员参赛。",
    "新疆喀什地区今年棉花产量预计突破120万吨，创历史新高。",
    "记者从交通运输部获悉，春运期间全国铁路预计发送旅客4.8亿人次。",
    "今年7月1日起，全国统一的新版机动车驾驶证申领规定正式实施。",
    "在哈尔滨举行的冰雪节上，来自俄罗斯和日本的艺术家展示了大型冰雕作品。",
    "国家航天局宣布，嫦娥六号探测器已于6月25日携带月球样品安全着陆。",
    "广州地铁十八号线全长62公里，最高运行时速达到160公里。",
    "据海关总署统计，前两个月我国进出口总值为6.61万亿元。",
    "联合国秘书长古特雷斯呼吁各方保持克制，尽快恢复和平谈判。",
    "西藏拉萨今天迎来入冬后的第一场降雪，部分航班推迟起飞。",
    "教育部表示，2024年全国高校毕业生预计达到1179万人，再创新高。",
    "云南省昆明市将于下周举办第三届南亚博览会，预计吸引三百多家企业参展。",
    "受台风杜苏芮影响，福建沿海地区的渔船已全部回港避风。",
    "著名作家莫言的新作品今天在北京首发，现场读者排起了长队。",
    "重庆长江大桥维修工程将于10月底完工，届时交通将全面恢复。",
)
# A second set, written after the reader and the scoring were changed (never used to tune them): each
# number form the reader knows appears here in other words (clock times, ranges, temperatures below zero,
# 两 before measure words, a hotline, fractions, 万亿 amounts), beside names and places.
HELD_OUT_B = (
    "国家统计局今天发布数据，今年上半年国内生产总值同比增长5.3%，好于市场预期。",
    "北京首都国际机场将于明早8:30起恢复全部国际航班。",
    "受寒潮影响，黑龙江漠河今晨最低气温降至-41℃，打破当地有气象记录以来的纪录。",
    "在男子一百米决赛中，苏炳添以9秒83的成绩获得第4名。",
    "本次博览会为期5天，共吸引了来自120多个国家的2万名采购商。",
    "长江三峡水利枢纽今年累计发电量突破800亿千瓦时。",
    "市民如发现违规排污行为，可拨打环保热线12369进行举报。",
    "据介绍，这座跨海大桥全长55公里，设计使用寿命为120年。",
    "中国队在决赛中以2:1击败日本队，时隔八年再次夺冠。",
    "今年全国夏粮总产量为2.99亿斤，比上年增加3.6亿斤。",
    "南京市计划在2026年至2028年间改造老旧小区三百个。",
    "国际原油价格连续两天下跌，布伦特原油期货收于每桶78.5美元。",
    "青海湖裸鲤的数量已恢复到十万吨以上，约为保护初期的三十倍。",
    "新版个人所得税法规定，每月五千元以内的收入不用缴税。",
    "湖南长沙的一名男子在高速公路上救下了两名被困的儿童。",
    "今年一季度，全国新能源汽车销量占新车总销量的三分之一。",
    "台湾海峡西岸的平潭岛上，风力发电机组已达到两百余台。",
    "敦煌研究院的专家对莫高窟第45窟的壁画进行了修复。",
    "大兴安岭林区发生森林火灾，过火面积约为1.5万公顷，目前火势已得到控制。",
    "明天白天，江南大部将有中到大雨，气温15到20摄氏度。",
    "世界银行将今年全球经济增长预期下调至2.4%。",
    "贵州平塘的中国天眼已发现超过九百颗新脉冲星。",
    "全国铁路今年暑运累计发送旅客约8.8亿人次，日均超过1400万人次。",
    "法国总统马克龙今天抵达北京，开始为期三天的国事访问。",
)
DEFAULT_VOICES = "ttskit:Aiyue,ttskit:biaobei,ttskit:Xiaobei,ttskit:Aijia,ttskit:Siyue,kokoro:jm_kumo"


# Written variants of one spoken form: 两/二 (两千 and 二千 are one number, and Whisper writes digits either
# way), 〇/零, and 幺, the 1 of phone numbers.
_SAME_SOUND = str.maketrans({"两": "二", "〇": "零", "幺": "一"})


def spoken_chars(text: str) -> str:
    """What the CER compares: `text` as the voice's own normaliser speaks it (digits, %, dates and times in
    words), with 两/二, 〇/零 and 幺/一 folded to one form, and no punctuation or spaces. The reference and
    Whisper's hypothesis both go through this one function, so a number Whisper writes as digits
    ("12000多") and the script's words ("一万两千多") count as the same characters."""
    return re.sub(r"[^\w]", "", normalize_text(text, "zh")).translate(_SAME_SOUND)


def timing_errors(speech, heard_words) -> tuple[list[float], list[float]]:
    """|our word start - Whisper's| for words whose first character Whisper starts a word on; and the
    same for a proportional spread of each sentence's span (Kokoro's method), for comparison."""
    ours, spread = [], []
    chars, owner = "", []
    for k, w in enumerate(speech.words):
        s = spoken_chars(w.word)
        chars += s
        owner += [k] * len(s)
    total = len(chars)
    first, last = speech.words[0], speech.words[-1]
    heard, heard_start = "", []
    for w in heard_words:
        s = spoken_chars(w.word)
        heard_start += [w.start] + [None] * (len(s) - 1)
        heard += s
    matcher = difflib.SequenceMatcher(None, chars, heard, autojunk=False)
    for a, b, size in matcher.get_matching_blocks():
        for i in range(size):
            p, q = a + i, b + i
            if heard_start[q] is None or (p > 0 and owner[p - 1] == owner[p]):
                continue
            ours.append(abs(speech.words[owner[p]].start_s - heard_start[q]))
            proportional = first.start_s + (last.end_s - first.start_s) * p / total
            spread.append(abs(proportional - heard_start[q]))
    return ours, spread


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voices", default=DEFAULT_VOICES)
    parser.add_argument("--out", type=Path, default=None, help="keep the WAVs here (to listen to)")
    parser.add_argument("--timing", action="store_true", help="check word timings against Whisper's")
    parser.add_argument("--set", default="a", choices=("a", "b"), help="HELD_OUT (a) or HELD_OUT_B (b)")
    parser.add_argument("--lines", default="", help="a range of the set's lines, e.g. 0-11 (default: all)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    settings = Settings()
    asr = Transcriber.load("base", settings)
    held_out = HELD_OUT if args.set == "a" else HELD_OUT_B
    low, _, high = (args.lines or f"0-{len(held_out) - 1}").partition("-")
    lines = list(range(int(low), int(high or low) + 1))
    print(f"set {args.set}: {len(lines)} held-out lines, "
          f"{sum(len(spoken_chars(held_out[i])) for i in lines)} spoken characters")
    print(f"{'voice':18s} {'CER':>6s} {'edits':>6s} {'worst':>6s} {'load s':>7s} {'1st read s':>10s} {'RTF warm':>9s} {'CPU RTF':>8s}")
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        for spec in args.voices.split(","):
            started = time.perf_counter()
            voice = load_voice("zh", settings, voice=spec)
            load_s = time.perf_counter() - started
            edits = chars = 0
            worst = 0.0
            first_s, warm_s, warm_cpu_s, warm_audio_s = 0.0, 0.0, 0.0, 0.0
            ours, spread = [], []
            for i in lines:
                line = held_out[i]
                wav = out / f"{spec.replace(':', '-')}-{args.set}{i:02d}.wav"
                started, cpu = time.perf_counter(), time.process_time()
                speech = voice.synthesize(line, wav)
                took, took_cpu = time.perf_counter() - started, time.process_time() - cpu
                if i == lines[0]:
                    first_s = took
                else:
                    warm_s += took
                    warm_cpu_s += took_cpu
                    warm_audio_s += speech.duration_s
                result = asr.transcribe(extract_audio(wav, Path(tmp) / "16k.wav"), "zh")
                ref, hyp = spoken_chars(line), spoken_chars(result.text)
                cer = jiwer.cer(ref, hyp)
                edits += round(cer * len(ref))
                chars += len(ref)
                worst = max(worst, cer)
                logging.getLogger("bench").warning("%s %02d CER %.3f | %s", spec, i, cer, result.text)
                if args.timing and spec.startswith("ttskit"):
                    a, b = timing_errors(speech, [w for seg in result.segments for w in seg.words])
                    ours += a
                    spread += b
            print(f"{spec:18s} {edits / chars:6.3f} {edits:6d} {worst:6.3f} {load_s:7.1f} {first_s:10.1f} "
                  f"{warm_s / warm_audio_s:9.2f} {warm_cpu_s / warm_audio_s:8.2f}")
            if ours:
                import numpy as np

                print(f"{'':18s} word starts vs Whisper's ({len(ours)} words): attention median "
                      f"{np.median(ours) * 1000:.0f} ms, p90 {np.percentile(ours, 90) * 1000:.0f} ms; "
                      f"proportional spread median {np.median(spread) * 1000:.0f} ms, "
                      f"p90 {np.percentile(spread, 90) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
