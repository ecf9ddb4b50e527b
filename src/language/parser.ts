/**
 * The grammar of `.chuda` files, and nothing else (Chevrotain: grammar apart from semantics).
 * `to-ast.ts` turns the CST into the AST of `ast.ts`. `grammar/chuda.ebnf` documents these rules one for one
 * (a test keeps them in step).
 *
 * Error recovery is on: a broken clause is skipped up to the next clause keyword or `}`, a broken item up to the
 * next `campaign`/`segment`, so one run reports every syntax error.
 */
import { CstParser } from "chevrotain";
import * as T from "./lexer.js";
import { syntaxMessages } from "./syntax-messages.js";

export class ChudaParser extends CstParser {
  /**
   * `checkGrammar`: Chevrotain's own checks of the grammar (ambiguities, left recursion), a tenth of a second at every
   * start of every command. The grammar is fixed when chuda is built, so a test builds a checked parser and the
   * commands skip the checks.
   */
  constructor({ checkGrammar = false }: { checkGrammar?: boolean } = {}) {
    super(T.allTokens, {
      recoveryEnabled: true,
      nodeLocationTracking: "onlyOffset",
      maxLookahead: 3,
      errorMessageProvider: syntaxMessages,
      skipValidations: !checkGrammar,
    });
    this.performSelfAnalysis();
  }

  // ------------------------------------------------------------------ file

  file = this.RULE("file", () => {
    this.MANY(() => {
      this.OR([{ ALT: () => this.SUBRULE(this.segment) }, { ALT: () => this.SUBRULE(this.campaign) }]);
    });
  });

  segment = this.RULE("segment", () => {
    this.CONSUME(T.Segment);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Assign);
    this.SUBRULE(this.expression);
  });

  campaign = this.RULE("campaign", () => {
    this.CONSUME(T.Campaign);
    this.CONSUME(T.Identifier);
    this.OPTION(() => this.CONSUME(T.StringLiteral));
    this.CONSUME(T.LCurly);
    this.MANY(() => this.SUBRULE(this.clause));
    this.CONSUME(T.RCurly);
  });

  // ------------------------------------------------------------------ clauses

  clause = this.RULE("clause", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.audienceClause) },
      { ALT: () => this.SUBRULE(this.triggerClause) },
      { ALT: () => this.SUBRULE(this.contentClause) },
      { ALT: () => this.SUBRULE(this.channelClause) },
      { ALT: () => this.SUBRULE(this.goalClause) },
      { ALT: () => this.SUBRULE(this.priorityClause) },
      { ALT: () => this.SUBRULE(this.holdoutClause) },
      { ALT: () => this.SUBRULE(this.repeatClause) },
      { ALT: () => this.SUBRULE(this.activeClause) },
      { ALT: () => this.SUBRULE(this.sendClause) },
      { ALT: () => this.SUBRULE(this.limitClause) },
      { ALT: () => this.SUBRULE(this.budgetClause) },
      { ALT: () => this.SUBRULE(this.expireClause) },
    ]);
  });

  audienceClause = this.RULE("audienceClause", () => {
    this.CONSUME(T.Audience);
    this.SUBRULE(this.expression);
  });

  triggerClause = this.RULE("triggerClause", () => {
    this.CONSUME(T.Trigger);
    this.SUBRULE(this.trigger);
  });

  contentClause = this.RULE("contentClause", () => {
    this.CONSUME(T.Content);
    this.CONSUME(T.StringLiteral);
    this.OPTION(() => {
      this.CONSUME(T.With);
      this.CONSUME(T.LCurly);
      this.OPTION2(() => {
        this.SUBRULE(this.withEntry);
        this.MANY(() => {
          this.CONSUME(T.Comma);
          this.SUBRULE2(this.withEntry);
        });
        this.OPTION3(() => this.CONSUME2(T.Comma));
      });
      this.CONSUME(T.RCurly);
    });
  });

  withEntry = this.RULE("withEntry", () => {
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Colon);
    this.SUBRULE(this.literal);
  });

  channelClause = this.RULE("channelClause", () => {
    this.CONSUME(T.Channel);
    this.CONSUME(T.Identifier);
    this.MANY(() => {
      this.CONSUME(T.Gt);
      this.CONSUME2(T.Identifier);
    });
  });

  goalClause = this.RULE("goalClause", () => {
    this.CONSUME(T.Goal);
    this.SUBRULE(this.goal);
  });

  goal = this.RULE("goal", () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Redeem);
          this.CONSUME(T.StringLiteral);
        },
      },
      { ALT: () => this.CONSUME(T.Visit) },
      {
        ALT: () => {
          this.CONSUME(T.Purchase);
          this.OPTION(() => {
            this.CONSUME(T.GtEq);
            this.CONSUME(T.MoneyLiteral);
          });
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Event);
          this.CONSUME2(T.StringLiteral);
        },
      },
    ]);
    this.CONSUME(T.Within);
    this.SUBRULE(this.duration);
    this.OPTION2(() => {
      this.CONSUME(T.Expect);
      this.CONSUME(T.PercentLiteral);
    });
  });

  priorityClause = this.RULE("priorityClause", () => {
    this.CONSUME(T.Priority);
    this.CONSUME(T.NumberLiteral);
  });

  holdoutClause = this.RULE("holdoutClause", () => {
    this.CONSUME(T.Holdout);
    this.CONSUME(T.PercentLiteral);
  });

  repeatClause = this.RULE("repeatClause", () => {
    this.CONSUME(T.Repeat);
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.After);
          this.SUBRULE(this.duration);
        },
      },
      { ALT: () => this.CONSUME(T.Never) },
    ]);
  });

  activeClause = this.RULE("activeClause", () => {
    this.CONSUME(T.Active);
    this.CONSUME(T.DateLiteral);
    this.CONSUME(T.Range);
    this.CONSUME2(T.DateLiteral);
  });

  sendClause = this.RULE("sendClause", () => {
    this.CONSUME(T.Send);
    this.CONSUME(T.Between);
    this.CONSUME(T.TimeLiteral);
    this.CONSUME(T.And);
    this.CONSUME2(T.TimeLiteral);
  });

  limitClause = this.RULE("limitClause", () => {
    this.CONSUME(T.Limit);
    this.CONSUME(T.NumberLiteral);
    this.CONSUME(T.Members);
    this.OPTION(() => {
      this.CONSUME(T.Order);
      this.CONSUME(T.By);
      this.SUBRULE(this.expression);
      this.OPTION2(() => this.OR([{ ALT: () => this.CONSUME(T.Asc) }, { ALT: () => this.CONSUME(T.Desc) }]));
    });
  });

  expireClause = this.RULE("expireClause", () => {
    this.CONSUME(T.Expire);
    this.CONSUME(T.After);
    this.SUBRULE(this.duration);
  });

  budgetClause = this.RULE("budgetClause", () => {
    this.CONSUME(T.Budget);
    this.CONSUME(T.MoneyLiteral);
  });

  duration = this.RULE("duration", () => {
    this.CONSUME(T.NumberLiteral);
    this.CONSUME(T.DurationUnit);
  });

  // ------------------------------------------------------------------ triggers

  trigger = this.RULE("trigger", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.everyTrigger) },
      { ALT: () => this.SUBRULE(this.onceTrigger) },
      { ALT: () => this.SUBRULE(this.onTrigger) },
      { ALT: () => this.SUBRULE(this.offsetTrigger) },
    ]);
  });

  everyTrigger = this.RULE("everyTrigger", () => {
    this.CONSUME(T.Every);
    this.OR([
      { ALT: () => this.CONSUME(T.Day) },
      {
        ALT: () => {
          this.CONSUME(T.Month);
          this.CONSUME(T.On);
          this.CONSUME(T.NumberLiteral);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.Identifier);
          this.MANY(() => {
            this.CONSUME(T.Comma);
            this.CONSUME2(T.Identifier);
          });
        },
      },
    ]);
    this.OPTION(() => this.SUBRULE(this.atTime));
  });

  onceTrigger = this.RULE("onceTrigger", () => {
    this.CONSUME(T.Once);
    this.CONSUME(T.At);
    this.CONSUME(T.DateTimeLiteral);
  });

  onTrigger = this.RULE("onTrigger", () => {
    this.CONSUME(T.On);
    this.OR([
      {
        ALT: () => {
          this.SUBRULE(this.eventRef);
          this.OPTION(() => this.SUBRULE(this.atTime));
        },
      },
      {
        ALT: () => {
          this.SUBRULE(this.businessEvent);
          this.OPTION2(() => this.SUBRULE(this.atMostOnce));
        },
      },
    ]);
  });

  /** `event "purchase"`: a business event received by `chuda serve`. */
  businessEvent = this.RULE("businessEvent", () => {
    this.CONSUME(T.Event);
    this.CONSUME(T.StringLiteral);
  });

  atMostOnce = this.RULE("atMostOnce", () => {
    this.CONSUME(T.At);
    this.CONSUME(T.Most);
    this.CONSUME(T.Once);
    this.CONSUME(T.Per);
    this.SUBRULE(this.duration);
  });

  offsetTrigger = this.RULE("offsetTrigger", () => {
    this.CONSUME(T.NumberLiteral);
    this.CONSUME(T.DurationUnit);
    this.OR([{ ALT: () => this.CONSUME(T.Before) }, { ALT: () => this.CONSUME(T.After) }]);
    this.OR2([
      {
        ALT: () => {
          this.SUBRULE(this.eventRef);
          this.OPTION(() => this.SUBRULE(this.atTime));
        },
      },
      { ALT: () => this.SUBRULE(this.businessEvent) },
    ]);
  });

  atTime = this.RULE("atTime", () => {
    this.CONSUME(T.At);
    this.CONSUME(T.TimeLiteral);
  });

  eventRef = this.RULE("eventRef", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Identifier) },
      { ALT: () => this.CONSUME(T.NumberLiteral) },
      {
        ALT: () => {
          this.CONSUME(T.Anniversary);
          this.CONSUME(T.Of);
          this.CONSUME2(T.Identifier);
        },
      },
    ]);
  });

  // ------------------------------------------------------------------ expressions

  /** `or`, the lowest precedence. */
  expression = this.RULE("expression", () => {
    this.SUBRULE(this.andExpression);
    this.MANY(() => {
      this.CONSUME(T.Or);
      this.SUBRULE2(this.andExpression);
    });
  });

  andExpression = this.RULE("andExpression", () => {
    this.SUBRULE(this.notExpression);
    this.MANY(() => {
      this.CONSUME(T.And);
      this.SUBRULE2(this.notExpression);
    });
  });

  notExpression = this.RULE("notExpression", () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Not);
          this.SUBRULE(this.notExpression);
        },
      },
      { ALT: () => this.SUBRULE(this.comparison) },
    ]);
  });

  comparison = this.RULE("comparison", () => {
    this.SUBRULE(this.additive);
    this.OPTION(() => {
      this.OR([
        {
          ALT: () => {
            this.SUBRULE(this.compareOperator);
            this.SUBRULE2(this.additive);
          },
        },
        {
          ALT: () => {
            this.OPTION2(() => this.CONSUME(T.Not));
            this.CONSUME(T.In);
            this.SUBRULE(this.list);
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.Has);
            this.OPTION3(() => this.OR2([{ ALT: () => this.CONSUME(T.Any) }, { ALT: () => this.CONSUME(T.All) }]));
            this.SUBRULE3(this.additive);
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.Between);
            this.SUBRULE4(this.additive);
            this.CONSUME(T.And);
            this.SUBRULE5(this.additive);
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.Is);
            this.OPTION4(() => this.CONSUME2(T.Not));
            this.CONSUME(T.SetKw);
          },
        },
      ]);
    });
  });

  compareOperator = this.RULE("compareOperator", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Eq) },
      { ALT: () => this.CONSUME(T.NotEq) },
      { ALT: () => this.CONSUME(T.LtEq) },
      { ALT: () => this.CONSUME(T.GtEq) },
      { ALT: () => this.CONSUME(T.Lt) },
      { ALT: () => this.CONSUME(T.Gt) },
    ]);
  });

  additive = this.RULE("additive", () => {
    this.SUBRULE(this.primary);
    this.MANY(() => {
      this.OR([{ ALT: () => this.CONSUME(T.Plus) }, { ALT: () => this.CONSUME(T.Minus) }]);
      this.SUBRULE2(this.primary);
    });
  });

  primary = this.RULE("primary", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.literal) },
      { ALT: () => this.CONSUME(T.Today) },
      { ALT: () => this.CONSUME(T.Now) },
      { ALT: () => this.SUBRULE(this.parenExpression) },
      { ALT: () => this.SUBRULE(this.withinExpression) },
      { ALT: () => this.SUBRULE(this.eventProperty) },
      { ALT: () => this.SUBRULE(this.reference) },
    ]);
  });

  /** `event.amount`: a property of the event that fired an event-triggered campaign. */
  eventProperty = this.RULE("eventProperty", () => {
    this.CONSUME(T.Event);
    this.CONSUME(T.Dot);
    this.CONSUME(T.Identifier);
  });

  parenExpression = this.RULE("parenExpression", () => {
    this.CONSUME(T.LParen);
    this.SUBRULE(this.expression);
    this.CONSUME(T.RParen);
  });

  withinExpression = this.RULE("withinExpression", () => {
    this.CONSUME(T.Within);
    this.CONSUME(T.NumberLiteral);
    this.CONSUME(T.Km);
  });

  /** A bare name (field, segment, enum value) or a call. `day(d)`, `month(d)`, `year…(d)` are calls named by a unit word. */
  reference = this.RULE("reference", () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Identifier);
          this.OPTION(() => this.SUBRULE(this.callArguments));
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.DurationUnit);
          this.SUBRULE2(this.callArguments);
        },
      },
    ]);
  });

  callArguments = this.RULE("callArguments", () => {
    this.CONSUME(T.LParen);
    this.OPTION(() => {
      this.SUBRULE(this.expression);
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.expression);
      });
    });
    this.CONSUME(T.RParen);
  });

  literal = this.RULE("literal", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.StringLiteral) },
      { ALT: () => this.CONSUME(T.MoneyLiteral) },
      { ALT: () => this.CONSUME(T.PercentLiteral) },
      { ALT: () => this.CONSUME(T.DateTimeLiteral) },
      { ALT: () => this.CONSUME(T.DateLiteral) },
      { ALT: () => this.CONSUME(T.TimeLiteral) },
      {
        ALT: () => {
          this.CONSUME(T.NumberLiteral);
          this.OPTION(() => this.CONSUME(T.DurationUnit));
        },
      },
      { ALT: () => this.CONSUME(T.True) },
      { ALT: () => this.CONSUME(T.False) },
      { ALT: () => this.SUBRULE(this.list) },
    ]);
  });

  list = this.RULE("list", () => {
    this.CONSUME(T.LBracket);
    this.OPTION(() => {
      this.SUBRULE(this.listItem);
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.listItem);
      });
      this.OPTION2(() => this.CONSUME2(T.Comma));
    });
    this.CONSUME(T.RBracket);
  });

  listItem = this.RULE("listItem", () => {
    this.OR([{ ALT: () => this.SUBRULE(this.literal) }, { ALT: () => this.CONSUME(T.Identifier) }]);
  });
}

/** The one parser instance (building it analyses the grammar, which is the slow part). */
export const parser = new ChudaParser();
